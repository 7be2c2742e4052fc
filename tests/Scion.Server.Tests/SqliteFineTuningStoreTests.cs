using Microsoft.Data.Sqlite;
using Scion.Server.FineTuning;

namespace Scion.Server.Tests;

public sealed class SqliteFineTuningStoreTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "scion-store-" + Guid.NewGuid().ToString("N"));

    public SqliteFineTuningStoreTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Db => Path.Combine(_dir, DataFolder.DatabaseFile);

    private static StoredJob Job(string id, long created, string status = JobStatus.Queued) => new()
    {
        Id = id, CreatedAt = created, Model = "m", TrainingFile = "file-1", Seed = 1, Status = status, Spec = new JobSpec().ToJson(),
    };

    [Fact]
    public void StateSurvivesReopeningAndTheSchemaVersionIsRecorded()
    {
        using (var store = new SqliteFineTuningStore(Db))
        {
            Assert.Equal(SqliteMigrations.All.Length, store.SchemaVersion);
            store.AddFile(new StoredFile("file-1", "a.jsonl", "fine-tune", 10, 100, "files/file-1.jsonl"));
            store.AddJob(Job("ftjob-1", 100));
            store.UpdateJob(Job("ftjob-1", 100, JobStatus.Failed) with { Error = new JobError("invalid_training_file", "line 3: bad", "training_file"), FinishedAt = 101 });
            store.AddEvent(new JobEvent("ev-1", "ftjob-1", 100, "info", "hello", "message", null, null));
            store.AddCheckpoint(new JobCheckpoint("ck-1", "ftjob-1", 100, 5, "ft:m:ftjob-1:ckpt-step-5", 0.5, null, 42, "adapters/x"));
        }
        using var reopened = new SqliteFineTuningStore(Db);
        Assert.Equal(SqliteMigrations.All.Length, reopened.SchemaVersion);
        var job = reopened.GetJob("ftjob-1")!;
        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal(new JobError("invalid_training_file", "line 3: bad", "training_file"), job.Error);
        Assert.Equal(101, job.FinishedAt);
        Assert.Equal("a.jsonl", reopened.GetFile("file-1")!.Filename);
        Assert.Equal("hello", Assert.Single(reopened.ListEvents("ftjob-1", null, 10).Items).Message);
        Assert.Equal(42, Assert.Single(reopened.ListCheckpoints("ftjob-1", null, 10).Items).TrainedTokens);
    }

    [Fact]
    public void ListsPageNewestFirstByCursor()
    {
        using var store = new SqliteFineTuningStore(Db);
        for (int i = 1; i <= 5; i++) store.AddJob(Job($"ftjob-{i}", 100)); // same second: the insertion order decides
        var first = store.ListJobs(null, 2);
        Assert.Equal(["ftjob-5", "ftjob-4"], first.Items.Select(j => j.Id));
        Assert.True(first.HasMore);
        var last = store.ListJobs("ftjob-2", 2);
        Assert.Equal(["ftjob-1"], last.Items.Select(j => j.Id));
        Assert.False(last.HasMore);
        Assert.Equal(["ftjob-1", "ftjob-2"], store.JobsWithStatus(JobStatus.Queued).Take(2).Select(j => j.Id));
    }

    [Fact]
    public void EventsPastAResumedStepAreDropped()
    {
        using var store = new SqliteFineTuningStore(Db);
        store.AddJob(Job("ftjob-1", 100));
        for (int step = 1; step <= 6; step++) store.AddEvent(new JobEvent($"ev-{step}", "ftjob-1", 100, "info", $"Step {step}", "metrics", "{}", step));
        store.AddEvent(new JobEvent("ev-msg", "ftjob-1", 100, "info", "a message", "message", null, null));
        store.DeleteEventsAfterStep("ftjob-1", 4);
        Assert.Equal(["a message", "Step 4", "Step 3", "Step 2", "Step 1"], store.ListEvents("ftjob-1", null, 100).Items.Select(e => e.Message));
    }

    [Fact]
    public void ADatabaseFromANewerScionIsRefused()
    {
        using (var c = new SqliteConnection($"Data Source={Db}"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = $"PRAGMA user_version = {SqliteMigrations.All.Length + 1};";
            cmd.ExecuteNonQuery();
        }
        SqliteConnection.ClearAllPools();
        var e = Assert.Throws<InvalidDataException>(() => new SqliteFineTuningStore(Db));
        Assert.Contains("written by a newer Scion", e.Message);
    }

    [Fact]
    public void AFileThatIsNotADatabaseIsRefusedNamingIt()
    {
        File.WriteAllText(Db, "not a database, just text that is long enough to have a header of sixteen bytes");
        var e = Assert.Throws<InvalidDataException>(() => new SqliteFineTuningStore(Db));
        Assert.Contains(Db, e.Message);
    }
}
