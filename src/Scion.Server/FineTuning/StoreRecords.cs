namespace Scion.Server.FineTuning;

/// <summary>An uploaded file (OpenAI's file object); its bytes live under the data folder at <see cref="Path"/> (relative).</summary>
public sealed record StoredFile(string Id, string Filename, string Purpose, long Bytes, long CreatedAt, string Path);

/// <summary>Why a job failed: OpenAI's error object on a fine-tuning job.</summary>
public sealed record JobError(string Code, string Message, string? Param);

/// <summary>OpenAI's status values of a fine-tuning job.</summary>
public static class JobStatus
{
    public const string ValidatingFiles = "validating_files";
    public const string Queued = "queued";
    public const string Running = "running";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";

    public static bool IsFinal(string status) => status is Succeeded or Failed or Cancelled;
}

/// <summary>
/// A fine-tuning job as stored. <see cref="Spec"/> is the job's settings as JSON (<see cref="JobSpec"/>): what the
/// client asked for and, once the files are validated, what "auto" resolved to.
/// </summary>
public sealed record StoredJob
{
    public required string Id { get; init; }
    public required long CreatedAt { get; init; }
    public required string Model { get; init; }
    public required string TrainingFile { get; init; }
    public string? ValidationFile { get; init; }
    public string? Suffix { get; init; }
    public required long Seed { get; init; }
    public required string Status { get; init; }
    public required string Spec { get; init; }
    public string? FineTunedModel { get; init; }
    public long TrainedTokens { get; init; }
    public long? FinishedAt { get; init; }
    public JobError? Error { get; init; }
}

/// <summary>A job event: a message, or step metrics (<see cref="Data"/> as JSON) for "metrics" events.</summary>
public sealed record JobEvent(string Id, string JobId, long CreatedAt, string Level, string Message, string Type, string? Data, long? Step);

/// <summary>A checkpoint whose adapter is served as <see cref="Model"/> (ft:...:ckpt-step-N).</summary>
public sealed record JobCheckpoint(string Id, string JobId, long CreatedAt, long Step, string Model, double? TrainLoss, double? ValidLoss,
    long TrainedTokens, string Path);

/// <summary>One page of a list, newest first, and whether older items remain.</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, bool HasMore);

/// <summary>What a training file holds, as a job would read it.</summary>
public sealed record FileCheck(string Id, int Examples, long Tokens, long TargetTokens);
