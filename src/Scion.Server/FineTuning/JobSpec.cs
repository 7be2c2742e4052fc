using System.Text.Json;
using System.Text.Json.Serialization;

namespace Scion.Server.FineTuning;

/// <summary>
/// A job's settings as stored (JSON in the jobs table): OpenAI's hyperparameters as asked (null = "auto"), Scion's
/// own adapter options (the request's "scion" object), and, once the files are validated, what auto resolved to.
/// </summary>
public sealed record JobSpec
{
    public int? Epochs { get; init; }
    public int? BatchSize { get; init; }
    public double? LearningRateMultiplier { get; init; }

    public string Method { get; init; } = "lora";
    public int Rank { get; init; } = 8;
    /// <summary>Null: 2 × rank, as `scion finetune`.</summary>
    public double? Alpha { get; init; }
    public double Dropout { get; init; }
    public bool Rslora { get; init; }
    public string Targets { get; init; } = "q_proj,v_proj";
    /// <summary>An absolute peak learning rate; overrides the multiplier.</summary>
    public double? LearningRate { get; init; }
    public int? CheckpointEvery { get; init; }
    public int? SeqLen { get; init; }
    public int Warmup { get; init; }
    /// <summary>The adapter whose weights the job continues training (the request's model was an adapter).</summary>
    public string? ContinueFrom { get; init; }

    public ResolvedHyperparameters? Resolved { get; init; }

    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Options);

    public static JobSpec FromJson(string json) => JsonSerializer.Deserialize<JobSpec>(json, Options)
        ?? throw new InvalidDataException("a stored job spec is empty.");
}

/// <summary>What a job trains with, auto resolved (see <see cref="AutoHyperparameters"/>).</summary>
public sealed record ResolvedHyperparameters(int Epochs, int BatchSize, double LearningRateMultiplier, double LearningRate,
    int BatchTokens, int CheckpointEvery, int TrainExamples, int ValidationExamples);
