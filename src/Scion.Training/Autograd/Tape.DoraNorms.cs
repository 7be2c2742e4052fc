using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Scion.Tensors;

namespace Scion.Training.Autograd;

public sealed unsafe partial class Tape
{
    // Last norms per frozen weight with the A, B and scale they came from. A and B change once per optimizer step,
    // but a step asks for the norms once per micro-batch and again in each checkpointed replay: those reuse them.
    private static readonly ConditionalWeakTable<IFrozenWeight, DoraNormCache> NormCache = new();

    private sealed class DoraNormCache
    {
        public float[] A = [], B = [], Norms = [];
        public float Scale;
    }

    /// <summary>
    /// norms[o] = ‖W[o, :] + scale · Σ_k B[o, k] A[k, :]‖₂, PEFT's DoRA weight norm. Also the initial
    /// magnitude vector (with B = 0 it is ‖W‖ per row). a [r, in], b [out, r], norms [out].
    /// </summary>
    public static void DoraWeightNorms(IFrozenWeight w, ReadOnlySpan<float> a, ReadOnlySpan<float> b, int rank, float scale, Span<float> norms) =>
        DoraWeightNorms(w, a, b, rank, scale, norms, WorkerPool.Shared);

    /// <inheritdoc cref="DoraWeightNorms(IFrozenWeight, ReadOnlySpan{float}, ReadOnlySpan{float}, int, float, Span{float})"/>
    public static void DoraWeightNorms(IFrozenWeight w, ReadOnlySpan<float> a, ReadOnlySpan<float> b, int rank, float scale, Span<float> norms, WorkerPool pool)
    {
        int outF = w.Rows, inF = w.Cols;
        if (a.Length != rank * inF || b.Length != outF * rank || norms.Length != outF)
            throw new ArgumentException($"DoraWeightNorms: needs A [{rank}, {inF}], B [{outF}, {rank}], norms [{outF}]; found {a.Length}, {b.Length}, {norms.Length} values.");
        fixed (float* pa = a, pb = b, pn = norms) DoraKernels.WeightNorms(pool, w, pa, pb, rank, scale, pn);
    }

    /// <summary>The norms for the current A and B, reused while A, B and scale are bitwise unchanged.</summary>
    private float[] CachedDoraNorms(IFrozenWeight w, float[] a, float[] b, int rank, float scale)
    {
        lock (NormCache)
        {
            var cache = NormCache.GetOrCreateValue(w);
            if (cache.Scale == scale && SameBits(cache.A, a) && SameBits(cache.B, b)) return cache.Norms;
            var norms = new float[w.Rows];
            DoraWeightNorms(w, a, b, rank, scale, norms, Pool);
            cache.A = (float[])a.Clone();
            cache.B = (float[])b.Clone();
            cache.Scale = scale;
            cache.Norms = norms;
            return norms;
        }
    }

    private static bool SameBits(float[] x, float[] y) =>
        x.Length == y.Length && MemoryMarshal.AsBytes(x.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(y.AsSpan()));
}
