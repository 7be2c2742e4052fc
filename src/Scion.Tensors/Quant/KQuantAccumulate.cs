using System.Runtime.CompilerServices;

namespace Scion.Tensors.Quant;

/// <summary>
/// The float side of the K-quant dot products (Q4_K, Q6_K weights × Q8_K activations): how each super-block's exact
/// integer sums are scaled and added to the row's running sum. Every kernel (scalar reference, SIMD single-row dot,
/// multi-token prefill tiles) computes the integer sums its own way — integer arithmetic is exact, so their order
/// does not matter — and then calls these, so all of them round identically and batched prefill equals
/// token-by-token decode bit for bit.
/// <para>
/// Why this order: one scalar float sum per row; per super-block the min term is subtracted, then the scaled integer
/// total added; scale products are activation scale × weight scale, each rounded to fp32; no fused multiply-add. An
/// earlier note here said llama.cpp's goldens came from ARM NEON kernels and that only this order reproduced them: the
/// goldens were in fact made by llama.cpp's x86 AVX-512 build. The order is judged instead against the exact F32
/// reference (<c>KQuantExactReferenceTests</c>, ../shared/README.md): on golden-k256-Q4_K_M our logits sit rms 0.046 std
/// from it against llama.cpp's 0.045 (limit 1.2x) and at most 0.041 std from llama.cpp's golden (limit 0.15). Any
/// order that keeps the integer sums exact lands in that band; a faster one is free to replace this if it stays there.
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
