using Scion.Tensors.Cpu;
using Scion.Tensors.Reference;

namespace Scion.Tensors;

/// <summary>
/// The two thin products of a LoRA term over a group of batch rows (Punica's SGMV shrink and expand), with the rows
/// picked by index so rows of one adapter need not be contiguous in the batch:
/// shrink ax[i, j] = scale · A[j, :]·x[rows[i], :] and expand y[rows[i], :] += Σ_j ax[i, j]·Bᵀ[j, :].
/// Every output element is computed by the same sequence of operations whatever the number of rows, their grouping
/// or the split over the pool, so a row's result does not depend on what else is in the batch (batch invariance).
/// Large groups (prefill) run on the pool; the cost is rows × rank × (in + out), independent of how many
/// adapters exist.
/// </summary>
public static unsafe class LowRankProduct
{
    /// <summary>Multiply-adds below which a product runs on the calling thread: waking the pool costs more.</summary>
    public const long ParallelThreshold = 1 << 18;

    /// <summary>Rows per shrink work item; each item streams every A row once over its rows (A row stays in L1).</summary>
    internal const int ShrinkRowsPerItem = 8;

    /// <summary>Output columns per expand work item (a multiple of 16, the widest vector).</summary>
    internal const int ExpandColumnsPerItem = 512;

    /// <param name="x">[*, inDim] activations; row rows[i] is used</param>
    /// <param name="a">[rank, inDim]</param>
    /// <param name="ax">[rows.Length, rank] output</param>
    public static void Shrink(ReadOnlySpan<float> x, int inDim, ReadOnlySpan<int> rows, ReadOnlySpan<float> a, int rank,
        float scale, Span<float> ax, WorkerPool? pool = null) =>
        Shrink(x, inDim, rows, a, rank, scale, ax, pool, KernelSelection.Current);

    /// <param name="ax">[rows.Length, rank]</param>
    /// <param name="bTransposed">[rank, outDim]: B [outDim, rank] transposed, so outputs are contiguous vectors</param>
    /// <param name="y">[*, outDim], rows rows[i] updated in place</param>
    public static void Expand(ReadOnlySpan<float> ax, int rank, ReadOnlySpan<float> bTransposed, int outDim, ReadOnlySpan<int> rows,
        Span<float> y, WorkerPool? pool = null) =>
        Expand(ax, rank, bTransposed, outDim, rows, y, pool, KernelSelection.Current);

    internal static void Shrink(ReadOnlySpan<float> x, int inDim, ReadOnlySpan<int> rows, ReadOnlySpan<float> a, int rank,
        float scale, Span<float> ax, WorkerPool? pool, KernelLevel level)
    {
        CheckShapes("Shrink", x.Length, inDim, rows, a.Length, rank, ax.Length);
        if (rows.Length == 0) return;
        fixed (float* px = x) fixed (int* pr = rows) fixed (float* pa = a) fixed (float* pax = ax)
        {
            var job = new ShrinkJob { X = px, InDim = inDim, Rows = pr, RowCount = rows.Length, A = pa, Rank = rank, Scale = scale, Ax = pax, Level = level };
            int items = (rows.Length + ShrinkRowsPerItem - 1) / ShrinkRowsPerItem;
            if (pool is null || items == 1 || (long)rows.Length * rank * inDim < ParallelThreshold)
                for (int i = 0; i < items; i++) job.Execute(i);
            else pool.Run(items, ref job);
        }
    }

    internal static void Expand(ReadOnlySpan<float> ax, int rank, ReadOnlySpan<float> bTransposed, int outDim, ReadOnlySpan<int> rows,
        Span<float> y, WorkerPool? pool, KernelLevel level)
    {
        CheckShapes("Expand", y.Length, outDim, rows, bTransposed.Length, rank, ax.Length);
        if (rows.Length == 0) return;
        fixed (float* pax = ax) fixed (float* pb = bTransposed) fixed (int* pr = rows) fixed (float* py = y)
        {
            var job = new ExpandJob { Ax = pax, Rank = rank, BTransposed = pb, OutDim = outDim, Rows = pr, RowCount = rows.Length, Y = py, Level = level };
            int items = (outDim + ExpandColumnsPerItem - 1) / ExpandColumnsPerItem;
            if (pool is null || items == 1 || (long)rows.Length * rank * outDim < ParallelThreshold)
                for (int i = 0; i < items; i++) job.Execute(i);
            else pool.Run(items, ref job);
        }
    }

    // dense: the [*, width] matrix rows index into; factor: [rank, width]; small: [rows, rank].
    private static void CheckShapes(string what, int denseLength, int width, ReadOnlySpan<int> rows, int factorLength, int rank, int smallLength)
    {
        if (width <= 0 || rank <= 0) throw new ArgumentException($"{what}: width {width} and rank {rank} must be positive.");
        if (factorLength != (long)rank * width)
            throw new ArgumentException($"{what}: the adapter factor has {factorLength} values, expected [{rank}, {width}].");
        if (smallLength < (long)rows.Length * rank)
            throw new ArgumentException($"{what}: the rank-space buffer has {smallLength} values, expected at least [{rows.Length}, {rank}].");
        int denseRows = denseLength / width;
        foreach (int r in rows)
            if ((uint)r >= (uint)denseRows)
                throw new ArgumentException($"{what}: row index {r} is outside the {denseRows} rows of the [{denseRows}, {width}] activations.");
    }

    private struct ShrinkJob : IParallelJob
    {
        public float* X;          // [*, InDim]
        public int InDim;
        public int* Rows;         // [RowCount]
        public int RowCount;
        public float* A;          // [Rank, InDim]
        public int Rank;
        public float Scale;
        public float* Ax;         // [RowCount, Rank]
        public KernelLevel Level;

        public readonly void Execute(int item)
        {
            int start = item * ShrinkRowsPerItem, end = Math.Min(RowCount, start + ShrinkRowsPerItem);
            if (Level == KernelLevel.Scalar) ReferenceLowRank.Shrink(X, InDim, Rows, start, end, A, Rank, Scale, Ax);
            else LowRankKernels.Shrink(X, InDim, Rows, start, end, A, Rank, Scale, Ax, Level);
        }
    }

    private struct ExpandJob : IParallelJob
    {
        public float* Ax;         // [RowCount, Rank]
        public int Rank;
        public float* BTransposed; // [Rank, OutDim]
        public int OutDim;
        public int* Rows;         // [RowCount]
        public int RowCount;
        public float* Y;          // [*, OutDim]
        public KernelLevel Level;

        public readonly void Execute(int item)
        {
            int c0 = item * ExpandColumnsPerItem, c1 = Math.Min(OutDim, c0 + ExpandColumnsPerItem);
            if (Level == KernelLevel.Scalar) ReferenceLowRank.Expand(Ax, Rank, BTransposed, OutDim, Rows, RowCount, c0, c1, Y);
            else LowRankKernels.Expand(Ax, Rank, BTransposed, OutDim, Rows, RowCount, c0, c1, Y, Level);
        }
    }
}
