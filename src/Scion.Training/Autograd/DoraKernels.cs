using System.Runtime.Intrinsics;
using Scion.Tensors;
using Scion.Tensors.Gemm;

namespace Scion.Training.Autograd;

/// <summary>
/// The per-column work of a DoRA layer, vectorized and run on the pool: the [T, out] products with the per-output
/// scale s (forward y = s ⊙ u, backward dy ⊙ s), the magnitude gradient Σ_t dy ⊙ u, and the weight norms
/// ‖W + scale·B A‖ per row. Each has a scalar twin (<c>...Scalar</c>) that gives the same bits: products are single
/// roundings, and every sum runs in one fixed order per output (over t for the column sums, in eight interleaved
/// lanes for the squares), so results do not depend on the vector width or the number of threads.
/// </summary>
internal static unsafe class DoraKernels
{
    // Items of the [T, out] passes: whole rows for the row-wise products, 256-column strips for the column sums.
    private const int RowsPerItem = 16;
    private const int ColumnsPerItem = 256;
    // Rows of W per norm item: dequantized together so B·A for them is one small matrix product.
    internal const int NormRows = 16;

    [ThreadStatic] private static float[]? t_block;

    /// <summary>dst[t, o] = src[t, o] · s[o]. src, dst [rows, cols], s [cols]; dst may be src.</summary>
    public static void ScaleColumns(WorkerPool pool, float* src, float* s, float* dst, int rows, int cols)
    {
        var job = new ScaleJob { Src = src, S = s, Dst = dst, Rows = rows, Cols = cols };
        Gemm.RunJob(pool, (rows + RowsPerItem - 1) / RowsPerItem, (long)rows * cols, ref job);
    }

    /// <summary>dys[t, o] = dy[t, o] · s[o] and acc[o] += Σ_t dy[t, o] · u[t, o] (in double, t ascending), in one pass
    /// over dy. dy, u, dys [rows, cols], s [cols], acc [cols].</summary>
    public static void ScaleAndColumnDots(WorkerPool pool, float* dy, float* u, float* s, float* dys, double* acc, int rows, int cols)
    {
        var job = new ColumnJob { Dy = dy, U = u, S = s, Dys = dys, Acc = acc, Rows = rows, Cols = cols };
        Gemm.RunJob(pool, (cols + ColumnsPerItem - 1) / ColumnsPerItem, (long)rows * cols, ref job);
    }

    /// <summary>norms[o] = ‖W[o, :] + scale · Σ_k B[o, k] A[k, :]‖₂ for every row of W. a [r, in], b [out, r], norms [out].</summary>
    public static void WeightNorms(WorkerPool pool, IFrozenWeight w, float* a, float* b, int rank, float scale, float* norms)
    {
        var job = new NormJob { W = w, A = a, B = b, Rank = rank, Scale = scale, Norms = norms };
        pool.Run((w.Rows + NormRows - 1) / NormRows, ref job);
    }

    /// <summary>Σ x[i]² in double: eight partial sums over i mod 8, then added pairwise, then the tail in order.</summary>
    public static double SumSquares(float* x, int n)
    {
        int i = 0;
        double total = 0;
        if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            // Lane j holds Σ x[8q + j]²: squares of floats are exact in double, so only the adds round.
            var lo = Vector256<double>.Zero;
            var hi = Vector256<double>.Zero;
            for (; i + 8 <= n; i += 8)
            {
                var v = Vector256.Load(x + i);
                var (l, h) = Vector256.Widen(v);
                lo += l * l;
                hi += h * h;
            }
            total = Lanes(lo, hi);
        }
        else if (n >= 8)
        {
            return SumSquaresScalar(x, n);
        }
        for (; i < n; i++) total += (double)x[i] * x[i];
        return total;
    }

    /// <summary>The scalar twin of <see cref="SumSquares"/>: the same lanes, pairings and tail.</summary>
    public static double SumSquaresScalar(float* x, int n)
    {
        int i = 0;
        double total = 0;
        if (n >= 8)
        {
            double* lanes = stackalloc double[8];
            for (int j = 0; j < 8; j++) lanes[j] = 0;
            for (; i + 8 <= n; i += 8)
                for (int j = 0; j < 8; j++) lanes[j] += (double)x[i + j] * x[i + j];
            total = ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
        }
        for (; i < n; i++) total += (double)x[i] * x[i];
        return total;
    }

    // lo = lanes 0-3, hi = lanes 4-7: ((l0 + l4) + (l1 + l5)) + ((l2 + l6) + (l3 + l7)).
    private static double Lanes(Vector256<double> lo, Vector256<double> hi)
    {
        var p = lo + hi;
        return (p.GetElement(0) + p.GetElement(1)) + (p.GetElement(2) + p.GetElement(3));
    }

    /// <summary>The scalar twin of <see cref="ScaleColumns"/>.</summary>
    public static void ScaleColumnsScalar(float* src, float* s, float* dst, int rows, int cols)
    {
        for (int t = 0; t < rows; t++)
            for (int o = 0; o < cols; o++) dst[(long)t * cols + o] = src[(long)t * cols + o] * s[o];
    }

    /// <summary>The scalar twin of <see cref="ScaleAndColumnDots"/>.</summary>
    public static void ScaleAndColumnDotsScalar(float* dy, float* u, float* s, float* dys, double* acc, int rows, int cols)
    {
        for (int t = 0; t < rows; t++)
            for (int o = 0; o < cols; o++)
            {
                long i = (long)t * cols + o;
                dys[i] = dy[i] * s[o];
                acc[o] += (double)dy[i] * u[i];
            }
    }

    private struct ScaleJob : IParallelJob
    {
        public float* Src, S, Dst;
        public int Rows, Cols;

        public readonly void Execute(int item)
        {
            int t1 = Math.Min(Rows, (item + 1) * RowsPerItem);
            for (int t = item * RowsPerItem; t < t1; t++)
            {
                float* src = Src + (long)t * Cols, dst = Dst + (long)t * Cols;
                int o = 0;
                if (Vector512.IsHardwareAccelerated)
                    for (; o + 16 <= Cols; o += 16) Vector512.Store(Vector512.Load(src + o) * Vector512.Load(S + o), dst + o);
                for (; o + 8 <= Cols; o += 8) Vector256.Store(Vector256.Load(src + o) * Vector256.Load(S + o), dst + o);
                for (; o < Cols; o++) dst[o] = src[o] * S[o];
            }
        }
    }

    private struct ColumnJob : IParallelJob
    {
        public float* Dy, U, S, Dys;
        public double* Acc;
        public int Rows, Cols;

        // A strip of columns over every row, t ascending: each acc[o] is summed in the scalar twin's order.
        public readonly void Execute(int item)
        {
            int c0 = item * ColumnsPerItem, c1 = Math.Min(Cols, c0 + ColumnsPerItem);
            for (int t = 0; t < Rows; t++)
            {
                long row = (long)t * Cols;
                int o = c0;
                for (; o + 8 <= c1; o += 8)
                {
                    var dy = Vector256.Load(Dy + row + o);
                    Vector256.Store(dy * Vector256.Load(S + o), Dys + row + o);
                    var (dyLo, dyHi) = Vector256.Widen(dy);
                    var (uLo, uHi) = Vector256.Widen(Vector256.Load(U + row + o));
                    Vector256.Store(Vector256.Load(Acc + o) + dyLo * uLo, Acc + o);
                    Vector256.Store(Vector256.Load(Acc + o + 4) + dyHi * uHi, Acc + o + 4);
                }
                for (; o < c1; o++)
                {
                    Dys[row + o] = Dy[row + o] * S[o];
                    Acc[o] += (double)Dy[row + o] * U[row + o];
                }
            }
        }
    }

    private struct NormJob : IParallelJob
    {
        public IFrozenWeight W;
        public float* A, B, Norms; // [r, in], [out, r], [out]
        public int Rank;
        public float Scale;

        // Rows o0..o1 of W dequantized into [n, in], plus (scale·B[o0..o1, :]) · A through the panel kernel, then one
        // sum of squares per row.
        public readonly void Execute(int item)
        {
            int inF = W.Cols, o0 = item * NormRows, n = Math.Min(W.Rows - o0, NormRows);
            var block = t_block;
            if (block is null || block.Length < NormRows * (inF + Rank)) t_block = block = new float[NormRows * (inF + Rank)];
            fixed (float* pb = block)
            {
                float* scaledB = pb + (long)NormRows * inF; // [n, r]
                for (int r = 0; r < n; r++)
                {
                    W.DequantizeRow(o0 + r, new Span<float>(pb + (long)r * inF, inF));
                    for (int k = 0; k < Rank; k++) scaledB[r * Rank + k] = Scale * B[(long)(o0 + r) * Rank + k];
                }
                PanelKernel.Accumulate(scaledB, Rank, A, inF, pb, inF, n, inF, Rank);
                for (int r = 0; r < n; r++) Norms[o0 + r] = (float)Math.Sqrt(SumSquares(pb + (long)r * inF, inF));
            }
        }
    }
}
