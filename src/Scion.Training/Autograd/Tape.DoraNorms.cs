using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Scion.Tensors;

namespace Scion.Training.Autograd;

public sealed partial class Tape
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
        var job = new NormJob { W = w, A = a.ToArray(), B = b.ToArray(), Rank = rank, Scale = scale, Result = new float[outF] };
        pool.Run((outF + NormJob.RowsPerItem - 1) / NormJob.RowsPerItem, ref job);
        job.Result.CopyTo(norms);
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

    private struct NormJob : IParallelJob
    {
        public const int RowsPerItem = 16;
        public IFrozenWeight W;
        public float[] A, B, Result; // [r, in], [out, r], [out]
        public int Rank;
        public float Scale;

        public readonly void Execute(int item)
        {
            int inF = W.Cols, o1 = Math.Min(W.Rows, (item + 1) * RowsPerItem);
            var row = new float[inF];
            for (int o = item * RowsPerItem; o < o1; o++)
            {
                W.DequantizeRow(o, row);
                for (int k = 0; k < Rank; k++)
                {
                    float c = Scale * B[o * Rank + k];
                    var ar = A.AsSpan(k * inF, inF);
                    for (int i = 0; i < inF; i++) row[i] += c * ar[i];
                }
                double sum = 0;
                for (int i = 0; i < inF; i++) sum += (double)row[i] * row[i];
                Result[o] = (float)Math.Sqrt(sum);
            }
        }
    }
}
