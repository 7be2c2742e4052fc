using Microsoft.Data.Sqlite;

namespace Scion.Server.FineTuning;

/// <summary>
/// <see cref="IFineTuningStore"/> in one SQLite file (WAL mode, synchronous calls: Microsoft.Data.Sqlite's async
/// methods run synchronously anyway). All writes go through one connection behind a lock; reads open their own
/// pooled connections, which WAL lets run beside the writer. The WAL file is capped (journal_size_limit) so a busy
/// server's log does not grow without bound. Every value is a parameter; no SQL is built from input.
/// </summary>
public sealed class SqliteFineTuningStore : IFineTuningStore
{
    private const long WalLimitBytes = 64L << 20;
    private readonly string _connectionString;
    private readonly SqliteConnection _writer;
    private readonly Lock _gate = new();

    public SqliteFineTuningStore(string databasePath)
    {
        _connectionString = new SqliteConnectionStringBuilder { DataSource = databasePath, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = true }.ToString();
        _writer = new SqliteConnection(_connectionString);
        try
        {
            _writer.Open();
            Exec(_writer, "PRAGMA journal_mode = WAL;");
            Exec(_writer, "PRAGMA synchronous = NORMAL;");
            Exec(_writer, $"PRAGMA journal_size_limit = {WalLimitBytes};");
            Exec(_writer, "PRAGMA busy_timeout = 5000;");
            Migrate();
        }
        catch (Exception e) when (e is SqliteException or InvalidDataException)
        {
            _writer.Dispose();
            throw new InvalidDataException($"{databasePath}: cannot open the job database: {e.Message}", e);
        }
    }

    /// <summary>The schema version (PRAGMA user_version): the number of migrations applied.</summary>
    public int SchemaVersion => Convert.ToInt32(Scalar(_writer, "PRAGMA user_version;"), System.Globalization.CultureInfo.InvariantCulture);

    private void Migrate()
    {
        int version = SchemaVersion;
        if (version > SqliteMigrations.All.Length)
            throw new InvalidDataException($"the job database has schema version {version}; this Scion knows up to {SqliteMigrations.All.Length} (it was written by a newer Scion).");
        for (int i = version; i < SqliteMigrations.All.Length; i++)
        {
            using var tx = _writer.BeginTransaction();
            Exec(_writer, SqliteMigrations.All[i], tx);
            Exec(_writer, $"PRAGMA user_version = {i + 1};", tx);
            tx.Commit();
        }
    }

    private static void Exec(SqliteConnection c, string sql, SqliteTransaction? tx = null)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        cmd.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteScalar();
    }

    private void Write(string sql, params (string Name, object? Value)[] args)
    {
        lock (_gate)
        {
            using var cmd = _writer.CreateCommand();
            cmd.CommandText = sql;
            foreach (var (name, value) in args) cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
            cmd.ExecuteNonQuery();
        }
    }

    private int WriteCount(string sql, params (string Name, object? Value)[] args)
    {
        lock (_gate)
        {
            using var cmd = _writer.CreateCommand();
            cmd.CommandText = sql;
            foreach (var (name, value) in args) cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
            return cmd.ExecuteNonQuery();
        }
    }

    private List<T> Read<T>(string sql, Func<SqliteDataReader, T> map, params (string Name, object? Value)[] args)
    {
        using var c = new SqliteConnection(_connectionString);
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        foreach (var (name, value) in args) cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        using var r = cmd.ExecuteReader();
        var list = new List<T>();
        while (r.Read()) list.Add(map(r));
        return list;
    }

    private static string? Str(SqliteDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);
    private static long? Long(SqliteDataReader r, int i) => r.IsDBNull(i) ? null : r.GetInt64(i);
    private static double? Double(SqliteDataReader r, int i) => r.IsDBNull(i) ? null : r.GetDouble(i);

    // Files.
    private const string FileColumns = "id, filename, purpose, bytes, created_at, path";
    private static StoredFile MapFile(SqliteDataReader r) => new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt64(3), r.GetInt64(4), r.GetString(5));

    public void AddFile(StoredFile f) => Write(
        "INSERT INTO files (id, filename, purpose, bytes, created_at, path) VALUES ($id, $filename, $purpose, $bytes, $created, $path);",
        ("$id", f.Id), ("$filename", f.Filename), ("$purpose", f.Purpose), ("$bytes", f.Bytes), ("$created", f.CreatedAt), ("$path", f.Path));

    public StoredFile? GetFile(string id) => Read($"SELECT {FileColumns} FROM files WHERE id = $id;", MapFile, ("$id", id)).FirstOrDefault();

    public IReadOnlyList<StoredFile> ListFiles(string? purpose) => purpose is null
        ? Read($"SELECT {FileColumns} FROM files ORDER BY seq DESC;", MapFile)
        : Read($"SELECT {FileColumns} FROM files WHERE purpose = $purpose ORDER BY seq DESC;", MapFile, ("$purpose", purpose));

    public bool DeleteFile(string id) => WriteCount("DELETE FROM files WHERE id = $id;", ("$id", id)) > 0;

    // Jobs.
    private const string JobColumns = "id, created_at, model, training_file, validation_file, suffix, seed, status, spec, fine_tuned_model, trained_tokens, finished_at, error_code, error_message, error_param";

    private static StoredJob MapJob(SqliteDataReader r) => new()
    {
        Id = r.GetString(0), CreatedAt = r.GetInt64(1), Model = r.GetString(2), TrainingFile = r.GetString(3), ValidationFile = Str(r, 4),
        Suffix = Str(r, 5), Seed = r.GetInt64(6), Status = r.GetString(7), Spec = r.GetString(8), FineTunedModel = Str(r, 9),
        TrainedTokens = r.GetInt64(10), FinishedAt = Long(r, 11),
        Error = Str(r, 12) is { } code ? new JobError(code, Str(r, 13) ?? "", Str(r, 14)) : null,
    };

    public void AddJob(StoredJob j) => Write(
        $"INSERT INTO jobs ({JobColumns}) VALUES ($id, $created, $model, $training, $validation, $suffix, $seed, $status, $spec, $ft, $tokens, $finished, $ecode, $emsg, $eparam);",
        JobArgs(j));

    private static (string, object?)[] JobArgs(StoredJob j) =>
    [
        ("$id", j.Id), ("$created", j.CreatedAt), ("$model", j.Model), ("$training", j.TrainingFile), ("$validation", j.ValidationFile),
        ("$suffix", j.Suffix), ("$seed", j.Seed), ("$status", j.Status), ("$spec", j.Spec), ("$ft", j.FineTunedModel), ("$tokens", j.TrainedTokens),
        ("$finished", j.FinishedAt), ("$ecode", j.Error?.Code), ("$emsg", j.Error?.Message), ("$eparam", j.Error?.Param),
    ];

    public StoredJob? GetJob(string id) => Read($"SELECT {JobColumns} FROM jobs WHERE id = $id;", MapJob, ("$id", id)).FirstOrDefault();

    public Page<StoredJob> ListJobs(string? after, int limit) =>
        Paged($"SELECT {JobColumns} FROM jobs WHERE ($after IS NULL OR seq < (SELECT seq FROM jobs WHERE id = $after)) ORDER BY seq DESC LIMIT $limit;",
            MapJob, limit, ("$after", after));

    public IReadOnlyList<StoredJob> JobsWithStatus(params string[] statuses)
    {
        var all = new List<StoredJob>();
        foreach (var s in statuses) all.AddRange(Read($"SELECT {JobColumns} FROM jobs WHERE status = $s ORDER BY seq;", MapJob, ("$s", s)));
        return [.. all.OrderBy(j => j.CreatedAt).ThenBy(j => j.Id, StringComparer.Ordinal)];
    }

    public void UpdateJob(StoredJob j) => Write(
        "UPDATE jobs SET status = $status, spec = $spec, fine_tuned_model = $ft, trained_tokens = $tokens, finished_at = $finished, " +
        "error_code = $ecode, error_message = $emsg, error_param = $eparam WHERE id = $id;", JobArgs(j));

    // Events.
    private const string EventColumns = "id, job_id, created_at, level, message, type, data, step";
    private static JobEvent MapEvent(SqliteDataReader r) => new(r.GetString(0), r.GetString(1), r.GetInt64(2), r.GetString(3), r.GetString(4), r.GetString(5), Str(r, 6), Long(r, 7));

    public void AddEvent(JobEvent e) => Write(
        $"INSERT INTO events ({EventColumns}) VALUES ($id, $job, $created, $level, $message, $type, $data, $step);",
        ("$id", e.Id), ("$job", e.JobId), ("$created", e.CreatedAt), ("$level", e.Level), ("$message", e.Message), ("$type", e.Type), ("$data", e.Data), ("$step", e.Step));

    public Page<JobEvent> ListEvents(string jobId, string? after, int limit) =>
        Paged($"SELECT {EventColumns} FROM events WHERE job_id = $job AND ($after IS NULL OR seq < (SELECT seq FROM events WHERE id = $after)) ORDER BY seq DESC LIMIT $limit;",
            MapEvent, limit, ("$job", jobId), ("$after", after));

    public void DeleteEventsAfterStep(string jobId, long step) =>
        Write("DELETE FROM events WHERE job_id = $job AND step IS NOT NULL AND step > $step;", ("$job", jobId), ("$step", step));

    // Checkpoints.
    private const string CheckpointColumns = "id, job_id, created_at, step, model, train_loss, valid_loss, trained_tokens, path";
    private static JobCheckpoint MapCheckpoint(SqliteDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetInt64(2), r.GetInt64(3), r.GetString(4), Double(r, 5), Double(r, 6), r.GetInt64(7), r.GetString(8));

    public void AddCheckpoint(JobCheckpoint c) => Write(
        $"INSERT INTO checkpoints ({CheckpointColumns}) VALUES ($id, $job, $created, $step, $model, $train, $valid, $tokens, $path);",
        ("$id", c.Id), ("$job", c.JobId), ("$created", c.CreatedAt), ("$step", c.Step), ("$model", c.Model), ("$train", c.TrainLoss),
        ("$valid", c.ValidLoss), ("$tokens", c.TrainedTokens), ("$path", c.Path));

    public Page<JobCheckpoint> ListCheckpoints(string jobId, string? after, int limit) =>
        Paged($"SELECT {CheckpointColumns} FROM checkpoints WHERE job_id = $job AND ($after IS NULL OR seq < (SELECT seq FROM checkpoints WHERE id = $after)) ORDER BY seq DESC LIMIT $limit;",
            MapCheckpoint, limit, ("$job", jobId), ("$after", after));

    public void DeleteCheckpointsAfterStep(string jobId, long step) =>
        Write("DELETE FROM checkpoints WHERE job_id = $job AND step > $step;", ("$job", jobId), ("$step", step));

    public void DeleteCheckpoint(string id) => Write("DELETE FROM checkpoints WHERE id = $id;", ("$id", id));

    /// <summary>One more row than asked tells whether older items remain.</summary>
    private Page<T> Paged<T>(string sql, Func<SqliteDataReader, T> map, int limit, params (string, object?)[] args)
    {
        var rows = Read(sql, map, [.. args, ("$limit", limit + 1)]);
        bool more = rows.Count > limit;
        if (more) rows.RemoveAt(rows.Count - 1);
        return new Page<T>(rows, more);
    }

    public void Dispose()
    {
        lock (_gate) _writer.Dispose();
        using var pooled = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(pooled);
    }
}
