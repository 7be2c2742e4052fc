namespace Scion.Models.Sampling;

/// <summary>A logits row held NaN or infinity: the weights or an adapter hold non-finite values, or activations
/// overflowed. Nothing is sampled from such a row (an argmax over NaN picks token 0, a softmax gives NaN), so the
/// generation fails with this instead of printing garbage.</summary>
public sealed class NonFiniteLogitsException(string message) : InvalidOperationException(message)
{
    /// <param name="position">The position whose logits were bad.</param>
    /// <param name="adapter">The adapter the row ran with, if any.</param>
    public static NonFiniteLogitsException For(int position, string? adapter) => new(
        $"the model produced non-finite logits (NaN or infinity) at position {position}" +
        (adapter is null ? "" : $" with adapter '{adapter}'") +
        ": the weights" + (adapter is null ? "" : " or the adapter") + " hold NaN/Inf or values large enough to overflow; nothing was sampled from them");
}
