namespace Scion.Training.Autograd;

/// <summary>
/// A base weight W [Rows = out, Cols = in] that training never updates. The tape only needs
/// products with it, so implementations may keep W quantized and memory-mapped and dequantize
/// rows on the fly; no gradient to W is ever formed. <see cref="DequantizeRow"/> may be called
/// from several threads at once (DoRA's row norms run in parallel).
/// </summary>
public interface IFrozenWeight
{
    /// <summary>Output features.</summary>
    int Rows { get; }

    /// <summary>Input features.</summary>
    int Cols { get; }

    /// <summary>y = x Wᵀ (overwrites y). x [tokens, Cols], y [tokens, Rows].</summary>
    void Forward(ReadOnlySpan<float> x, Span<float> y, int tokens);

    /// <summary>dx += dy W (accumulates). dy [tokens, Rows], dx [tokens, Cols].</summary>
    void BackwardInput(ReadOnlySpan<float> dy, Span<float> dx, int tokens);

    /// <summary>Writes row <paramref name="row"/> of W as fp32. dst [Cols].</summary>
    void DequantizeRow(int row, Span<float> dst);
}
