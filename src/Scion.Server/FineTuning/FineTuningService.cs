using System.Collections.Concurrent;
using System.Text;
using Scion.Models.Llama;
using Scion.Models.Tokenization;
using Scion.Server.Http;
using Scion.Serving.Adapters;
using Scion.Serving.Jobs;
using Scion.Training.Data;

namespace Scion.Server.FineTuning;

/// <summary>
/// The files and fine-tuning APIs behind the endpoints: uploads stored atomically under the data folder, jobs kept in
/// the store, validated off the engine thread (line-numbered errors), then trained by the engine's
/// <see cref="TrainingJobQueue"/> in the time inference leaves. A finished job's adapter is published and registered
/// at once (<c>ft:BASE:SUFFIX:JOB</c>, and each checkpoint as <c>...:ckpt-step-N</c>). On start, jobs a stopped or
/// killed server left unfinished are taken up again and resume from their last checkpoint, bit for bit.
/// </summary>
public sealed partial class FineTuningService : IDisposable
{
    /// <summary>Checkpoint adapters kept (and served) per job, as OpenAI keeps the last three.</summary>
    public const int KeptCheckpoints = 3;
    public const string FineTunePurpose = "fine-tune";

    private readonly DataFolder _data;
    private readonly string _baseId;
    private readonly LlamaConfig _config;
    private readonly Tokenizer _tokenizer;
    private readonly string? _chatTemplate;
    private readonly AdapterStore _adapters;
    private readonly TrainingJobQueue _queue;
    private readonly Action<string>? _log;
    private readonly Lock _gate = new();
    private readonly ConcurrentDictionary<string, TrainingJob> _active = new();
    private IFineTuningStore? _store;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _disposed;

    public FineTuningService(string dataDir, string baseId, LlamaConfig config, Tokenizer tokenizer, string? chatTemplate,
        AdapterStore adapters, TrainingJobQueue queue, Action<string>? log = null)
    {
        _data = new DataFolder(dataDir);
        _baseId = baseId;
        _config = config;
        _tokenizer = tokenizer;
        _chatTemplate = chatTemplate;
        _adapters = adapters;
        _queue = queue;
        _log = log;
        // Nothing is created until the first upload or job: `scion serve` must not litter the working folder.
        if (_data.Exists) Recover();
    }

    public string DataDirectory => _data.Root;

    /// <summary>Whether any job is queued or training in the engine.</summary>
    public bool HasActiveJobs => !_active.IsEmpty || _queue.Pending > 0;

    /// <summary>Jobs queued or training in the engine.</summary>
    public int ActiveJobs => _queue.Pending;

    /// <summary>The store, opened (and the data folder created) on first use.</summary>
    internal IFineTuningStore Store
    {
        get
        {
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (_store is null)
                {
                    _data.Create();
                    _store = new SqliteFineTuningStore(_data.Database);
                }
                return _store;
            }
        }
    }

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    // ---- files ----

    public async Task<StoredFile> UploadAsync(Stream content, string filename, string purpose, CancellationToken cancel)
    {
        if (purpose != FineTunePurpose)
            throw ApiError.BadField("purpose", $"purpose: this server stores only \"{FineTunePurpose}\" files, got \"{purpose}\".");
        string name = Path.GetFileName(filename.Replace('\\', '/'));
        if (name.Length is 0 or > 255) throw ApiError.BadField("file", "file: the upload needs a file name of 1 to 255 characters.");
        var store = Store;
        string id = DataFolder.NewId("file-");
        string relative = Path.Combine("files", id + ".jsonl");
        string final = _data.FilePath(relative);
        string temp = DataFolder.TempBeside(final);
        long bytes;
        try
        {
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
            {
                await content.CopyToAsync(file, cancel);
                bytes = file.Length;
            }
            if (bytes == 0) throw ApiError.BadField("file", "file: the uploaded file is empty.");
            CheckUtf8(temp);
            File.Move(temp, final);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
        var stored = new StoredFile(id, name, purpose, bytes, Now(), relative);
        store.AddFile(stored);
        return stored;
    }

    /// <summary>JSONL is UTF-8 text: anything else is refused at upload with the line of the first bad byte. Lines
    /// are checked one at a time ('\n' never occurs inside a multi-byte sequence), so memory stays at one line.</summary>
    private static void CheckUtf8(string path)
    {
        using var stream = File.OpenRead(path);
        var buffer = new byte[1 << 16];
        var pending = new MemoryStream();
        int line = 1, read;
        while ((read = stream.Read(buffer)) > 0)
        {
            var chunk = buffer.AsSpan(0, read);
            int nl;
            while ((nl = chunk.IndexOf((byte)'\n')) >= 0)
            {
                pending.Write(chunk[..nl]);
                if (!System.Text.Unicode.Utf8.IsValid(pending.GetBuffer().AsSpan(0, (int)pending.Length))) throw NotUtf8(line);
                pending.SetLength(0);
                line++;
                chunk = chunk[(nl + 1)..];
            }
            pending.Write(chunk);
        }
        if (!System.Text.Unicode.Utf8.IsValid(pending.GetBuffer().AsSpan(0, (int)pending.Length))) throw NotUtf8(line);
    }

    private static ApiError NotUtf8(int line) =>
        ApiError.BadField("file", $"file: line {line} is not UTF-8 text; fine-tuning files are JSONL in UTF-8.");

    public StoredFile GetFile(string id) => Store.GetFile(id) ?? throw new ApiError(404, $"No such file: '{id}'.", "file_id", "file_not_found");

    public IReadOnlyList<StoredFile> ListFiles(string? purpose) => Store.ListFiles(purpose);

    public string FileContentPath(string id) => _data.FilePath(GetFile(id).Path);

    public void DeleteFile(string id)
    {
        var file = GetFile(id);
        if (!Store.DeleteFile(id)) throw new ApiError(404, $"No such file: '{id}'.", "file_id", "file_not_found");
        File.Delete(_data.FilePath(file.Path));
    }

    // ---- jobs ----

    /// <summary>The fine_tuned_model name of a job: ft:BASE:SUFFIX:JOB (ft:BASE:JOB without a suffix).</summary>
    public string ModelName(StoredJob job)
    {
        var b = new StringBuilder(_baseId.Length);
        foreach (char c in _baseId) b.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '-');
        return job.Suffix is null ? $"ft:{b}:{job.Id}" : $"ft:{b}:{job.Suffix}:{job.Id}";
    }

    internal StoredJob Create(FineTuningRequest r)
    {
        string? continueFrom = null;
        if (r.Model != _baseId)
        {
            if (_adapters.Find(r.Model) is null)
                throw new ApiError(404, $"The model '{r.Model}' does not exist: fine-tune '{_baseId}' or one of its adapters (GET /v1/models).", "model", "model_not_found");
            continueFrom = r.Model;
        }
        var store = Store;
        if (store.GetFile(r.TrainingFile) is null)
            throw ApiError.BadField("training_file", $"training_file: no uploaded file has the id '{r.TrainingFile}'.");
        if (r.ValidationFile is { } v && store.GetFile(v) is null)
            throw ApiError.BadField("validation_file", $"validation_file: no uploaded file has the id '{v}'.");
        var job = new StoredJob
        {
            Id = DataFolder.NewId("ftjob-"), CreatedAt = Now(), Model = r.Model, TrainingFile = r.TrainingFile, ValidationFile = r.ValidationFile,
            Suffix = r.Suffix, Seed = r.Seed, Status = JobStatus.ValidatingFiles, Spec = (r.Spec with { ContinueFrom = continueFrom }).ToJson(),
        };
        store.AddJob(job);
        Event(job.Id, $"Validating training file: {job.TrainingFile}" + (job.ValidationFile is null ? "" : $" and validation file: {job.ValidationFile}"));
        _log?.Invoke($"job {job.Id}: created ({r.Model}, {r.TrainingFile})");
        Start(job);
        return job;
    }

    public StoredJob GetJob(string id) => Store.GetJob(id) ?? throw new ApiError(404, $"No such fine-tuning job: '{id}'.", "fine_tuning_job_id", "job_not_found");

    public Page<StoredJob> ListJobs(string? after, int limit) => Store.ListJobs(after, limit);

    public Page<JobEvent> ListEvents(string id, string? after, int limit)
    {
        GetJob(id);
        return Store.ListEvents(id, after, limit);
    }

    public Page<JobCheckpoint> ListCheckpoints(string id, string? after, int limit)
    {
        GetJob(id);
        return Store.ListCheckpoints(id, after, limit);
    }

    public StoredJob Cancel(string id)
    {
        var job = GetJob(id);
        if (JobStatus.IsFinal(job.Status))
            throw new ApiError(400, $"The job {id} has already {job.Status}; only a job that is validating, queued or running can be cancelled.", null, "job_not_cancellable");
        Event(id, "The job was cancelled.");
        job = Update(id, j => JobStatus.IsFinal(j.Status) ? j : j with { Status = JobStatus.Cancelled, FinishedAt = Now() });
        if (job.Status == JobStatus.Cancelled)
        {
            if (_active.TryRemove(id, out var running)) running.Cancel();
            _log?.Invoke($"job {id}: cancelled");
        }
        return job;
    }

    /// <summary>The first state of the job for which <paramref name="condition"/> holds (tests and the console wait on this instead of polling).</summary>
    public async Task<StoredJob> WhenJobAsync(string id, Func<StoredJob, bool> condition, CancellationToken cancel = default)
    {
        while (true)
        {
            var signal = Volatile.Read(ref _changed).Task;
            var job = GetJob(id);
            if (condition(job)) return job;
            await signal.WaitAsync(cancel).ConfigureAwait(false);
        }
    }

    private void Changed() => Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    /// <summary>Read-modify-write of one job under the service's lock (the engine thread, request threads and the
    /// validation task all update jobs).</summary>
    internal StoredJob Update(string id, Func<StoredJob, StoredJob> change)
    {
        StoredJob updated;
        lock (_gate)
        {
            var store = Store;
            var job = store.GetJob(id) ?? throw new InvalidOperationException($"job {id} vanished from the store");
            updated = change(job);
            if (!ReferenceEquals(updated, job)) store.UpdateJob(updated);
        }
        Changed();
        return updated;
    }

    internal void Event(string jobId, string message, string type = "message", string? data = null, long? step = null, string level = "info")
    {
        Store.AddEvent(new JobEvent(DataFolder.NewId("ftevent-"), jobId, Now(), level, message, type, data, step));
        Changed();
    }

    internal void Fail(string id, JobError error)
    {
        _active.TryRemove(id, out _);
        if (JobStatus.IsFinal(GetJob(id).Status)) return;
        // The event before the status, so whoever sees "failed" finds it.
        Event(id, $"The job failed: {error.Message}", level: "error");
        Update(id, j => JobStatus.IsFinal(j.Status) ? j : j with { Status = JobStatus.Failed, FinishedAt = Now(), Error = error });
        _log?.Invoke($"job {id}: failed: {error.Message}");
    }

    public void Dispose()
    {
        // Unfinished jobs keep their status: the next start takes them up from their last checkpoint.
        lock (_gate)
        {
            _disposed = true;
            _store?.Dispose();
        }
    }
}
