namespace Scion.Models.Formats;

/// <summary>
/// The <c>rope_scaling</c> object of a Hugging Face config. <see cref="RopeType"/> comes from "rope_type"
/// (newer transformers) or "type" (older): "llama3", "linear", "dynamic", "yarn", "longrope", "default" ...;
/// the model decides which it supports.
/// </summary>
public sealed record HfRopeScaling
{
    public required string RopeType { get; init; }
    public double? Factor { get; init; }
    public double? LowFreqFactor { get; init; }
    public double? HighFreqFactor { get; init; }
    public int? OriginalMaxPositionEmbeddings { get; init; }
}
