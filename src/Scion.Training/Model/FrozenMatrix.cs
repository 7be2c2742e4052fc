using Scion.Tensors;
using Scion.Training.Autograd;

namespace Scion.Training.Model;

/// <summary>How a <see cref="FrozenMatrix"/> computes its forward product.</summary>
public enum FrozenForward
{
    /// <summary>The inference kernels (<see cref="MatMul.Multiply"/>): quantized weights meet Q8-quantized activations, as llama.cpp does.</summary>
    Kernels,
    /// <summary>Rows dequantized to fp32 and multiplied in fp32: the exact derivative of what backward uses (finite-difference checks).</summary>
    Exact,
}

/// <summary>
/// A frozen base weight over a <see cref="WeightMatrix"/> of any stored type (F32, F16, BF16, Q8_0, Q4_0, Q4_K,
/// Q6_K), usually a view into the memory-mapped model file. No fp32 copy of the matrix is ever made: forward runs
/// the inference kernels, and backward dequantizes panels of rows into a small per-thread buffer.
/// </summary>
public sealed unsafe class FrozenMatrix : IFrozenWeight
{
    // Rows dequantized together by the exact forward.
    private const int RowBlock = 16;
    // Backward work items are BackwardTokens × BackwardPanel tiles of dx; the panel width is a whole number of blocks
    // of every stored type (K-quants: 256). Rows are taken ChunkRows at a time: [ChunkRows, panel] floats (128 KiB)
    // stay in L2 while the tile's tokens stream over them, 64 columns (32 KiB) at a time from L1.
    private const int BackwardTokens = 128;
    private const int BackwardPanel = 256;
    private const int ChunkRows = 128;

    [ThreadStatic] private static float[]? t_rows;

    private readonly WeightMatrix _w;
    private readonly object? _owner; // keeps pinned memory behind _w alive (a PiSSA residual)

    public FrozenMatrix(WeightMatrix w, WorkerPool? pool = null, FrozenForward mode = FrozenForward.Kernels, object? owner = null)
    {
        _w = w;
        Pool = pool ?? WorkerPool.Shared;
        Mode = mode;
        _owner = owner;
    }

    /// <summary>An fp32 matrix held in a pinned array (built from values, e.g. a PiSSA residual). values [rows, cols]</summary>
    public static FrozenMatrix FromFloats(float[] values, int rows, int cols, WorkerPool? pool = null, FrozenForward mode = FrozenForward.Kernels)
    {
        if ((long)rows * cols != values.Length) throw new ArgumentException($"[{rows}, {cols}] needs {(long)rows * cols} values, got {values.Length}.");
        var pinned = GC.AllocateUninitializedArray<float>(values.Length, pinned: true);
        values.CopyTo(pinned, 0);
        fixed (float* p = pinned) // pinned arrays never move; the pointer stays valid while _owner holds the array
            return new FrozenMatrix(WeightMatrix.FromPinnedFloats(p, rows, cols), pool, mode, pinned);
    }

    public WeightMatrix Matrix => _w;
    public WorkerPool Pool { get; set; }
    public FrozenForward Mode { get; set; }
    public int Rows => _w.Rows;
    public int Cols => _w.Cols;
    public GgmlType Type => _w.Type;

    public void Forward(ReadOnlySpan<float> x, Span<float> y, int tokens)
    {
        if (Mode == FrozenForward.Kernels)
        {
            MatMul.Multiply(_w, x, y, tokens, Pool);
            return;
        }
        Check(x.Length, (long)tokens * Cols, "x");
        Check(y.Length, (long)tokens * Rows, "y");
        fixed (float* px = x, py = y)
        {
            var job = new ExactForwardJob { W = _w, X = px, Y = py, Tokens = tokens };
            Pool.Run((Rows + RowBlock - 1) / RowBlock, ref job);
        }
    }

    public void BackwardInput(ReadOnlySpan<float> dy, Span<float> dx, int tokens)
    {
        Check(dy.Length, (long)tokens * Rows, "dy");
        Check(dx.Length, (long)tokens * Cols, "dx");
        if (tokens <= 0) return;
        fixed (float* pdy = dy, pdx = dx)
        {
            // Items own disjoint output tiles and sweep rows in one fixed order: bitwise reproducible for any thread count
            // (the grouping below changes which item computes a tile, never the order of its sums).
            int panels = (Cols + BackwardPanel - 1) / BackwardPanel, tiles = (tokens + BackwardTokens - 1) / BackwardTokens;
            // Token tiles per item: as many as still leaves about four items per thread, so a dequantized chunk of rows
            // serves several tiles instead of being dequantized again for each.
            int groups = Math.Clamp((4 * Pool.ThreadCount + panels - 1) / panels, 1, tiles);
            int tilesPerItem = (tiles + groups - 1) / groups;
            groups = (tiles + tilesPerItem - 1) / tilesPerItem;
            var job = new BackwardJob { W = _w, Dy = pdy, Dx = pdx, Tokens = tokens, Panels = panels, TilesPerItem = tilesPerItem };
            Pool.Run(groups * panels, ref job);
        }
    }

    public void DequantizeRow(int row, Span<float> dst)
    {
        if ((uint)row >= (uint)Rows) throw new ArgumentOutOfRangeException(nameof(row), $"Row {row} is outside [0, {Rows}).");
        Dequantize.Row(_w.Type, _w.RowSpan(row), dst[..Cols]);
    }

    /// <summary>Every row as fp32 (SVD, merging); [Rows, Cols]. Only for one matrix at a time.</summary>
    public float[] ToFloats()
    {
        var all = new float[(long)Rows * Cols];
        for (int r = 0; r < Rows; r++) DequantizeRow(r, all.AsSpan(r * Cols, Cols));
        return all;
    }

    private static float[] RowBuffer(int floats)
    {
        var b = t_rows;
        if (b is null || b.Length < floats) t_rows = b = new float[floats];
        return b;
    }

    private static void Check(long actual, long expected, string name)
    {
        if (actual < expected) throw new ArgumentException($"Buffer '{name}' holds {actual} values; {expected} are needed.", name);
    }

    private struct ExactForwardJob : IParallelJob
    {
        public WeightMatrix W;
        public float* X, Y; // [T, cols], [T, rows]
        public int Tokens;

        public readonly void Execute(int item)
        {
            int r0 = item * RowBlock, r1 = Math.Min(W.Rows, r0 + RowBlock), cols = W.Cols;
            var rows = RowBuffer(RowBlock * cols);
            for (int r = r0; r < r1; r++) Dequantize.Row(W.Type, W.RowSpan(r), rows.AsSpan((r - r0) * cols, cols));
            fixed (float* pw = rows)
                for (int t = 0; t < Tokens; t++)
                    for (int r = r0; r < r1; r++)
                        Y[(long)t * W.Rows + r] = Dot(pw + (long)(r - r0) * cols, X + (long)t * cols, cols);
        }
    }

    private struct BackwardJob : IParallelJob
    {
        public WeightMatrix W;
        public float* Dy, Dx; // [T, rows], [T, cols]
        public int Tokens, Panels, TilesPerItem;

        // Item = (group of token tiles, column panel): dx[tile, panel] += dy[tile, :] · W[:, panel] for each tile of the
        // group, rows swept in chunks of ChunkRows, each chunk dequantized once per item into a per-thread buffer (fp32
        // weights are read in place) and used by every tile of the group.
        public readonly void Execute(int item)
        {
            int tile0 = item / Panels * TilesPerItem, c0 = item % Panels * BackwardPanel;
            int tTiles = Math.Min(TilesPerItem, (Tokens + BackwardTokens - 1) / BackwardTokens - tile0);
            int width = Math.Min(W.Cols - c0, BackwardPanel);
            int rowsTotal = W.Rows, cols = W.Cols;
            bool inPlace = W.Type == GgmlType.F32;
            long byteOffset = GgmlTypeInfo.RowBytes(W.Type, c0), panelBytes = GgmlTypeInfo.RowBytes(W.Type, width);
            var buffer = inPlace ? null : RowBuffer(ChunkRows * width);
            fixed (float* pb = buffer)
                for (int r0 = 0; r0 < rowsTotal; r0 += ChunkRows)
                {
                    int kc = Math.Min(ChunkRows, rowsTotal - r0);
                    float* b = null;
                    int ldb = 0;
                    for (int tt = 0; tt < tTiles; tt++)
                    {
                        int t0 = (tile0 + tt) * BackwardTokens, m = Math.Min(Tokens - t0, BackwardTokens);
                        float* dyTile = Dy + (long)t0 * rowsTotal + r0;
                        if (AllZero(dyTile, rowsTotal, m, kc)) continue; // ignored tokens give exact zeros: skip the chunk
                        if (b is null)
                        {
                            if (inPlace)
                            {
                                b = (float*)W.RowPointer(r0) + c0;
                                ldb = cols;
                            }
                            else
                            {
                                for (int r = 0; r < kc; r++)
                                    Dequantize.Row(W.Type, new ReadOnlySpan<byte>(W.RowPointer(r0 + r) + byteOffset, (int)panelBytes), new Span<float>(pb + (long)r * width, width));
                                b = pb;
                                ldb = width;
                            }
                        }
                        PanelKernel.Accumulate(dyTile, rowsTotal, b, ldb, Dx + (long)t0 * cols + c0, cols, m, width, kc);
                    }
                }
        }

        private static bool AllZero(float* dy, int stride, int m, int n)
        {
            for (int t = 0; t < m; t++)
                if (new ReadOnlySpan<float>(dy + (long)t * stride, n).ContainsAnyExcept(0f)) return false;
            return true;
        }
    }

    private static float Dot(float* a, float* b, int n) => Ops.Dot(new ReadOnlySpan<float>(a, n), new ReadOnlySpan<float>(b, n));
}
