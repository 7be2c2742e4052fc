namespace Scion.Models.Formats;

/// <summary>
/// The row order of Q and K projection weights differs between Hugging Face and GGUF files, because the two apply
/// rotary embeddings to different pairs of a head's dimensions:
/// <list type="bullet">
/// <item>HF ("rotate_half"): dimension i of a head pairs with i + headDim/2.</item>
/// <item>GGUF / Meta / llama2.c (interleaved): dimension 2i pairs with 2i + 1.</item>
/// </list>
/// llama.cpp's HF → GGUF converter therefore reorders the output rows of q_proj and k_proj within each head:
/// <code>
///   gguf row  h·headDim + 2i + j   =   hf row  h·headDim + j·headDim/2 + i      (i &lt; headDim/2, j ∈ {0, 1})
/// </code>
/// i.e. the two halves of each head are interleaved (HF rows 0, h/2, 1, h/2+1, ... become GGUF rows 0, 1, 2, 3 ...).
/// Verified against hf-golden-tiny/model.safetensors vs golden-tiny-f16.gguf (RotaryPermutationTests). The same
/// permutation applies to anything indexed by Q/K output rows: a q/k bias, and the B matrix ([out, r]) of a LoRA
/// adapter on q_proj/k_proj. V, O and the FFN are not affected. headDim is the per-head size for both Q and K
/// (with GQA, K simply has fewer heads). llama2.c checkpoints are already in GGUF order.
/// </summary>
public static class RotaryPermutation
{
    /// <summary>The HF row that lands in GGUF row <paramref name="ggufRow"/>.</summary>
    public static int GgufRowToHfRow(int ggufRow, int headDim)
    {
        CheckHeadDim(headDim);
        int head = ggufRow / headDim, within = ggufRow % headDim;
        return head * headDim + within % 2 * (headDim / 2) + within / 2;
    }

    /// <summary>The GGUF row that HF row <paramref name="hfRow"/> moves to.</summary>
    public static int HfRowToGgufRow(int hfRow, int headDim)
    {
        CheckHeadDim(headDim);
        int head = hfRow / headDim, within = hfRow % headDim, half = headDim / 2;
        return head * headDim + within % half * 2 + within / half;
    }

    /// <summary>
    /// Copies rows of <paramref name="rowLength"/> elements from HF order into GGUF order. T may be the element type
    /// or byte (then rowLength is the row's byte count, which also works for quantized rows).
    /// </summary>
    public static void ToGgufOrder<T>(ReadOnlySpan<T> hf, Span<T> gguf, int rowLength, int headDim) =>
        Permute(hf, gguf, rowLength, headDim, toGguf: true);

    /// <summary>The inverse of <see cref="ToGgufOrder{T}"/>.</summary>
    public static void ToHfOrder<T>(ReadOnlySpan<T> gguf, Span<T> hf, int rowLength, int headDim) =>
        Permute(gguf, hf, rowLength, headDim, toGguf: false);

    public static T[] ToGgufOrder<T>(ReadOnlySpan<T> hf, int rowLength, int headDim)
    {
        var result = new T[hf.Length];
        ToGgufOrder(hf, result, rowLength, headDim);
        return result;
    }

    public static T[] ToHfOrder<T>(ReadOnlySpan<T> gguf, int rowLength, int headDim)
    {
        var result = new T[gguf.Length];
        ToHfOrder(gguf, result, rowLength, headDim);
        return result;
    }

    private static void Permute<T>(ReadOnlySpan<T> source, Span<T> destination, int rowLength, int headDim, bool toGguf)
    {
        CheckHeadDim(headDim);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rowLength);
        if (destination.Length != source.Length)
            throw new ArgumentException($"Destination holds {destination.Length} elements, source {source.Length}.", nameof(destination));
        if (source.Overlaps(destination))
            throw new ArgumentException("The permutation cannot run in place.", nameof(destination));
        if (source.Length % rowLength != 0)
            throw new ArgumentException($"{source.Length} elements are not whole rows of {rowLength}.", nameof(source));
        int rows = source.Length / rowLength;
        if (rows % headDim != 0)
            throw new ArgumentException($"{rows} rows are not whole heads of {headDim}.", nameof(source));
        for (int row = 0; row < rows; row++)
        {
            int target = toGguf ? HfRowToGgufRow(row, headDim) : GgufRowToHfRow(row, headDim);
            source.Slice(row * rowLength, rowLength).CopyTo(destination.Slice(target * rowLength, rowLength));
        }
    }

    private static void CheckHeadDim(int headDim)
    {
        if (headDim <= 0 || headDim % 2 != 0)
            throw new ArgumentOutOfRangeException(nameof(headDim), headDim, "Head dimension must be positive and even.");
    }
}
