namespace Scion.Server.FineTuning;

/// <summary>
/// Durable state of the files and fine-tuning APIs: files, jobs, their events and checkpoints. Lists are newest first,
/// paged by the id of the last item seen (<c>after</c>), as OpenAI pages them. One implementation, SQLite
/// (<see cref="SqliteFineTuningStore"/>); the interface is what a server database would implement instead.
/// </summary>
public interface IFineTuningStore : IDisposable
{
    void AddFile(StoredFile file);
    StoredFile? GetFile(string id);
    IReadOnlyList<StoredFile> ListFiles(string? purpose);
    bool DeleteFile(string id);

    void AddJob(StoredJob job);
    StoredJob? GetJob(string id);
    Page<StoredJob> ListJobs(string? after, int limit);
    /// <summary>Jobs in any of these statuses, oldest first (restart recovery).</summary>
    IReadOnlyList<StoredJob> JobsWithStatus(params string[] statuses);
    void UpdateJob(StoredJob job);

    void AddEvent(JobEvent e);
    Page<JobEvent> ListEvents(string jobId, string? after, int limit);
    /// <summary>Removes metrics events past a step (a resumed job recomputes those steps).</summary>
    void DeleteEventsAfterStep(string jobId, long step);

    void AddCheckpoint(JobCheckpoint checkpoint);
    Page<JobCheckpoint> ListCheckpoints(string jobId, string? after, int limit);
    void DeleteCheckpointsAfterStep(string jobId, long step);
    void DeleteCheckpoint(string id);
}
