using System.Runtime.CompilerServices;

namespace Scion.Tensors.Quant;

/// <summary>
/// The float side of the K-quant dot products (Q4_K, Q6_K weights × Q8_K activations): how each super-block's exact
/// integer sums are scaled and added to the row's running sum. Every kernel (scalar reference, SIMD single-row dot,
/// multi-token prefill tiles) computes the integer sums its own way — integer arithmetic is exact, so their order
/// does not matter — and then calls these, so all of them round identically and batched prefill equals
/// token-by-token decode bit for bit.
/// <para>
/// Why this order: llama.cpp's golden outputs were produced by ggml's ARM NEON kernels, which keep one scalar float
/// sum and, per super-block, first subtract the min term and then add the scaled integer total. The scale products
/// are formed as activation scale × weight scale, each rounded to fp32, and multiply the integer total converted to
/// fp32. The AVX2 order (8 float lanes, mins subtracted once at the end) and the generic C order (8 float lanes per
/// sub-block group) round differently; on the Q4_K golden model K-projection outputs sit close to fp16 rounding
/// boundaries in the KV cache, and only the NEON order reproduces llama.cpp's logits there. No fused multiply-add:
/// separate multiply and add/subtract round the way the golden run did.
/// </para>
/// </summary>
internal static class KQuantAccumulate
{
    /// <summary>One Q4_K super-block: <c>sum − (dx·dmin)·Σ min_j·bsum_j + (dx·d)·Σ scale_j·(q·a)_j</c>, in that order.</summary>
    /// <param name="dx">the Q8_K block's activation scale</param>
    /// <param name="d">the weight block's super-scale (fp16 widened)</param>
    /// <param name="dmin">the weight block's super-min (fp16 widened)</param>
    /// <param name="sumi">Σ over the 8 sub-blocks of scale·(4-bit levels · activations)</param>
    /// <param name="summ">Σ over the 8 sub-blocks of min·(sum of the sub-block's 32 activations)</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Q4_K(float sum, float dx, float d, float dmin, int sumi, int summ)
    {
        sum -= dx * dmin * summ;
        sum += dx * d * sumi;
        return sum;
    }

    /// <summary>One Q6_K super-block: <c>sum + (d·dx)·isum</c>, isum already holding the −32 level bias.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Q6_K(float sum, float dx, float d, int isum) => sum + d * dx * isum;
}
