using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Scion.Tensors.Cpu;
using Scion.Tensors.Reference;

namespace Scion.Tensors.Gemm;

/// <summary>
/// Prefill with float weights (F32, F16, BF16): y[t, r] = Σ_c W[r, c]·x[t, c] for many tokens as packed-panel GEMMs
/// that give every output the bits decode's dot gives it. Decode (<see cref="SimdVecDot"/>'s float rows) sums a row in
/// L lanes (16 at Avx512, 8 at Avx2): lane l is one fma chain over columns l, l+L, l+2L, …; the lanes are then added
/// as a pairwise tree (Vector512/256.Sum: halves, recursively) and the last Cols % L columns added one by one. Here
/// the columns are reordered lane-major (lane l's columns contiguous, <see cref="Position"/>) in both the activations
/// (packed once per call into panels of <see cref="TokenPanel"/> tokens, [cols][64], tokens past the end zero) and
/// each item's block of weight rows (widened to fp32 once per call). Each lane is then an ordinary product run by
/// <see cref="PanelKernel"/> with weight values broadcast against vectors of tokens: 4 rows × 64 tokens in 16 AVX-512
/// accumulators, 8 loads per 16 FMAs, no horizontal sums. The lane sums land in partial tiles, are added in the tree
/// order along token vectors, the tail columns follow, and the [rows, tokens] tile is transposed into y.
/// <see cref="Reference"/> is the scalar twin.
/// </summary>
internal static unsafe class FloatGemm
{
    /// <summary>Tokens per activation panel: the width of the panel kernel's widest tile.</summary>
    public const int TokenPanel = 64;

    /// <summary>Most weight rows per work item: the widened block (32 rows × 5632 floats = 704 KiB) and the partial
    /// tiles (16 lanes × 32 × 64 floats = 128 KiB) stay in L2.</summary>
    public const int MaxRowBlock = 32;

    /// <summary>Fewest tokens worth the GEMM: tokens are padded to a multiple of 16, so tiny batches waste lanes and
    /// go through the dot-product tiles (same bits either way).</summary>
    public const int MinTokens = 8;

    /// <summary>Most tokens per pass: longer prompts run in chunks (results per token do not depend on the chunk), so the
    /// packed activations and the output tiles stay bounded; a chunk this long still amortizes widening the weights.</summary>
    public const int TokenChunk = 512;

    // Columns per activation pack item.
    private const int PackCols = 256;

    /// <summary>Whether <see cref="Multiply"/> computes this product (the Scalar level keeps the dot-product path).</summary>
    public static bool Handles(GgmlType type, int tokens, KernelLevel level) =>
        level != KernelLevel.Scalar && tokens >= MinTokens && type is GgmlType.F32 or GgmlType.F16 or GgmlType.BF16;

    /// <summary>Lanes of decode's float dot at <paramref name="level"/> (Avx512 or Avx2).</summary>
    public static int Lanes(KernelLevel level) => level == KernelLevel.Avx512 ? 16 : 8;

    /// <summary>Where column c goes in the lane-major order: lane c % lanes, step c / lanes; the tail stays put.</summary>
    public static int Position(int c, int lanes, int steps) => c < lanes * steps ? c % lanes * steps + c / lanes : c;

    /// <param name="w">weight [rows, cols], F32/F16/BF16</param>
    /// <param name="x">activations [tokens, cols], already rounded to the weight's half type where ggml does</param>
    /// <param name="y">output [tokens, rows]</param>
    public static void Multiply(in WeightMatrix w, float* x, float* y, int tokens, WorkerPool pool, KernelLevel level)
    {
        WeightMatrix one = w;
        MultiplyShared(new ReadOnlySpan<WeightMatrix>(&one, 1), x, &y, tokens, pool, level);
    }

    /// <summary>Products of several matrices with the same input (Q, K, V; gate, up), all [rows_i, cols] of float
    /// types: each chunk of activations is packed once for all of them. Same bits as separate <see cref="Multiply"/>s.</summary>
    /// <param name="ys">per matrix, output [tokens, rows_i]</param>
    public static void MultiplyShared(ReadOnlySpan<WeightMatrix> ws, float* x, float** ys, int tokens, WorkerPool pool, KernelLevel level)
    {
        if (level == KernelLevel.Scalar) throw new ArgumentException("The float GEMM runs at Avx2 or Avx512.", nameof(level));
        int cols = ws[0].Cols;
        foreach (var w in ws)
            if (w.Cols != cols) throw new ArgumentException($"Shared-input GEMM: matrices have {cols} and {w.Cols} columns.", nameof(ws));
        for (int t0 = 0; t0 < tokens; t0 += TokenChunk)
        {
            int count = Math.Min(TokenChunk, tokens - t0);
            float* packed = Pack(x + (long)t0 * cols, cols, count, pool, level);
            for (int i = 0; i < ws.Length; i++) Product(ws[i], packed, ys[i] + (long)t0 * ws[i].Rows, count, pool, level);
        }
    }

    /// <summary>x [tokens, cols] → the calling thread's panels [panels][cols in lane order][TokenPanel].</summary>
    private static float* Pack(float* x, int cols, int tokens, WorkerPool pool, KernelLevel level)
    {
        int lanes = Lanes(level), steps = cols / lanes;
        int padded = (tokens + 15) & ~15;   // whole 16-token vectors: the kernel has no masked tails
        int panels = (padded + TokenPanel - 1) / TokenPanel;
        float* packed = GemmScratch.Panels((long)panels * cols * TokenPanel);   // [panels][cols in lane order][64]
        var pack = new PackJob
        {
            X = x, Packed = packed, Cols = cols, Tokens = tokens, Padded = padded, Lanes = lanes, Steps = steps,
            ColBlocks = (cols + PackCols - 1) / PackCols,
        };
        pool.Run(panels * pack.ColBlocks, ref pack);
        return packed;
    }

    private static void Product(in WeightMatrix w, float* packed, float* y, int tokens, WorkerPool pool, KernelLevel level)
    {
        int lanes = Lanes(level), steps = w.Cols / lanes;
        int padded = (tokens + 15) & ~15;
        int panels = (padded + TokenPanel - 1) / TokenPanel;
        int rowBlock = RowBlock(w.Rows, pool.ThreadCount);
        var job = new ProductJob
        {
            Weights = w.Data, Type = w.Type, Rows = w.Rows, Cols = w.Cols, RowBytes = w.RowBytes, Packed = packed,
            Tokens = tokens, Padded = padded, Panels = panels, RowBlock = rowBlock, Y = y, Level = level, Lanes = lanes, Steps = steps,
            Threads = pool.ThreadCount,
        };
        pool.Run((w.Rows + rowBlock - 1) / rowBlock, ref job);
    }

    // Up to MaxRowBlock rows (a multiple of 4, the kernel's row tile), fewer when the matrix is short so every
    // thread still gets several items (2048 → 256 projections).
    internal static int RowBlock(int rows, int threads)
    {
        int items = Math.Max(1, threads) * 4;
        int block = ((rows + items - 1) / items + 3) & ~3;
        return Math.Clamp(block, 4, MaxRowBlock);
    }

    /// <summary>Scalar twin of <see cref="Multiply"/> with <paramref name="lanes"/> lanes (16 for Avx512, 8 for Avx2):
    /// per output, lane chains of fused multiply-adds, a pairwise tree over the lanes, then the tail columns.</summary>
    public static void Reference(in WeightMatrix w, float* x, float* y, int tokens, int lanes)
    {
        int cols = w.Cols, steps = cols / lanes;
        var wide = new float[cols];
        var acc = new float[lanes];
        fixed (float* pw = wide) fixed (float* pa = acc)
        {
            for (int r = 0; r < w.Rows; r++)
            {
                ReferenceDequantize.Row(w.Type, w.Data + r * w.RowBytes, pw, cols);
                for (int t = 0; t < tokens; t++)
                {
                    float* xt = x + (long)t * cols;
                    for (int l = 0; l < lanes; l++)
                    {
                        float a = 0f;
                        for (int i = 0; i < steps; i++) a = MathF.FusedMultiplyAdd(pw[i * lanes + l], xt[i * lanes + l], a);
                        pa[l] = a;
                    }
                    float sum = PairwiseSum(pa, lanes);
                    for (int c = lanes * steps; c < cols; c++) sum += pw[c] * xt[c];
                    y[(long)t * w.Rows + r] = sum;
                }
            }
        }
    }

    // Vector512.Sum / Vector256.Sum order: the sum of the low half plus the sum of the high half, recursively.
    private static float PairwiseSum(float* v, int n) => n == 1 ? v[0] : PairwiseSum(v, n / 2) + PairwiseSum(v + n / 2, n / 2);

    /// <summary>x [tokens, cols] → panels [panels][cols in lane order][64]; item = (panel, block of PackCols columns).</summary>
    private struct PackJob : IParallelJob
    {
        public float* X;        // [tokens, cols]
        public float* Packed;   // [panels][cols][TokenPanel]
        public int Cols, Tokens, Padded, Lanes, Steps, ColBlocks;

        // Optimized from the first call: the tier-0 code of vector-heavy loops is many times slower, and a prompt's
        // first layers would run it.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Execute(int item)
        {
            int panel = item / ColBlocks;
            int c0 = item % ColBlocks * PackCols, c1 = Math.Min(Cols, c0 + PackCols);
            int t0 = panel * TokenPanel;
            int width = Math.Min(TokenPanel, Padded - t0);
            int live = Math.Min(width, Tokens - t0);
            float* dst = Packed + (long)panel * Cols * TokenPanel;
            float* src = X + (long)t0 * Cols;
            float* block = stackalloc float[64];
            int c = c0;
            if (Avx.IsSupported)
            {
                // 8 × 8 blocks through registers: a column-at-a-time walk would read 64 rows Cols apart, which all
                // fall in one L1 set and thrash it.
                int wholeTokens = live & ~7;
                for (; c + 8 <= c1; c += 8)
                {
                    // c is a multiple of 8 and Lanes 8 or 16, so columns c..c+7 share a step and sit Steps apart.
                    bool vector = c + 8 <= Lanes * Steps;
                    long first = Position(c, Lanes, Steps), apart = vector ? Steps : 1;
                    for (int j = 0; j < wholeTokens; j += 8)
                    {
                        Transpose8.Block(src + (long)j * Cols + c, Cols, block, 8);
                        for (int q = 0; q < 8; q++)
                            Vector256.Load(block + 8 * q).Store(dst + (first + q * apart) * TokenPanel + j);
                    }
                    for (int q = 0; q < 8; q++) Tail(src, dst, c + q, wholeTokens, live, width);
                }
            }
            for (; c < c1; c++) Tail(src, dst, c, 0, live, width);
        }

        // Column c of the panel from token j0 on: live tokens copied, the padding zero.
        private readonly void Tail(float* src, float* dst, int c, int j0, int live, int width)
        {
            float* d = dst + (long)Position(c, Lanes, Steps) * TokenPanel;
            int j = j0;
            for (; j < live; j++) d[j] = src[(long)j * Cols + c];
            for (; j < width; j++) d[j] = 0f;
        }
    }

    /// <summary>One block of weight rows against every token: widen and reorder the rows, run each lane's product per
    /// token panel, add the lanes in decode's tree order, transpose the tile out.</summary>
    private struct ProductJob : IParallelJob
    {
        public byte* Weights;   // [rows, RowBytes]
        public GgmlType Type;
        public int Rows, Cols;
        public long RowBytes;
        public float* Packed;   // [Panels][cols in lane order][TokenPanel]
        public int Tokens, Padded, Panels, RowBlock, Lanes, Steps, Threads;
        public float* Y;        // [tokens, rows]
        public KernelLevel Level;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Execute(int item)
        {
            int r0 = item * RowBlock;
            int m = Math.Min(RowBlock, Rows - r0);
            int vectorCols = Lanes * Steps;
            float* block = GemmScratch.Block((long)m * Cols);   // [m][cols in lane order]
            float* wide = Type == GgmlType.F32 ? null : GemmScratch.Row(Cols);
            if (Sse.IsSupported)
            {
                // Ask for the whole block at once: row by row, each stream waits on DRAM latency with the FMA units
                // idle, and at 128 tokens the widening then costs a fifth of the item.
                long bytes = (long)m * RowBytes;
                byte* first = Weights + r0 * RowBytes;
                for (long o = 0; o < bytes; o += 64) Sse.Prefetch0(first + o);
            }
            for (int i = 0; i < m; i++)
            {
                byte* row = Weights + (r0 + i) * RowBytes;
                if (Type == GgmlType.F32) Reorder((float*)row, block + (long)i * Cols);
                else
                {
                    Dequantize.Row(Type, row, wide, Cols, Level);
                    Reorder(wide, block + (long)i * Cols);
                }
            }

            float* partials = GemmScratch.Partials((long)Lanes * m * TokenPanel);   // [Lanes][m][TokenPanel]
            float* tile = GemmScratch.Tile((long)m * Padded);                        // [m, Padded]
            // -0 + s = s for every s, so adding a lane's chain to -0 leaves its bits; decode's lanes of an empty
            // vector part are +0.
            float start = Steps > 0 ? -0f : 0f;
            for (int j = 0; j < Panels; j++)
            {
                int width = Math.Min(TokenPanel, Padded - j * TokenPanel);
                float* xp = Packed + (long)j * Cols * TokenPanel;
                new Span<float>(partials, Lanes * m * TokenPanel).Fill(start);
                for (int l = 0; l < Lanes; l++)
                {
                    if (j == 0) PrefetchNext(item, l);
                    PanelKernel.Accumulate(block + (long)l * Steps, Cols, xp + (long)l * Steps * TokenPanel, TokenPanel,
                        partials + (long)l * m * TokenPanel, TokenPanel, m, width, Steps, Level);
                }
                for (int i = 0; i < m; i++)
                {
                    float* p = partials + (long)i * TokenPanel;
                    long laneStride = (long)m * TokenPanel;
                    for (int t = 0; t < width; t += 8)
                    {
                        Vector256<float> s = Lanes == 16 ? Tree16(p + t, laneStride) : Tree8(p + t, laneStride);
                        // Tail columns one at a time, product rounded then added, as decode's scalar loop does.
                        for (int c = vectorCols; c < Cols; c++)
                            s += Vector256.Create(block[(long)i * Cols + c]) * Vector256.Load(xp + (long)c * TokenPanel + t);
                        s.Store(tile + (long)i * Padded + j * TokenPanel + t);
                    }
                }
            }

            // tile [m, Padded] → y[t, r0 + i]; 8 × 8 blocks, as a column walk of the tile would hit one L1 set.
            int t8 = Avx.IsSupported ? Tokens & ~7 : 0, m8 = m & ~7;
            for (int t = 0; t < t8; t += 8)
                for (int i = 0; i < m8; i += 8)
                    Transpose8.Block(tile + (long)i * Padded + t, Padded, Y + (long)t * Rows + r0 + i, Rows);
            for (int t = 0; t < Tokens; t++)
            {
                float* yr = Y + (long)t * Rows + r0;
                for (int i = t < t8 ? m8 : 0; i < m; i++) yr[i] = tile[(long)i * Padded + t];
            }
        }

        // While lane l of the first panel runs, ask for 1/Lanes of the rows this thread is likely to take next
        // (items are claimed in turn, so item + threads): they then come from L2/L3, not DRAM, when it widens them.
        // Mapped weights sit on 4 KiB pages whose translations are not cached and a prefetch that misses the TLB
        // may be dropped, so each page is first touched with a real load.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private readonly void PrefetchNext(int item, int lane)
        {
            int next = (item + Threads) * RowBlock;
            if (next >= Rows || !Sse.IsSupported) return;
            int count = Math.Min(RowBlock, Rows - next);
            int from = count * lane / Lanes, to = count * (lane + 1) / Lanes;
            for (int r = next + from; r < next + to; r++)
            {
                byte* row = Weights + r * RowBytes;
                for (long o = 0; o < RowBytes; o += 4096) Volatile.Read(ref row[o]);
                for (long o = 0; o < RowBytes; o += 64) Sse.Prefetch1(row + o);
            }
        }

        // Row in column order → lane order: viewed as [Steps][Lanes], transposed to [Lanes][Steps]; the tail copied.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private readonly void Reorder(float* src, float* dst)
        {
            int i = 0;
            if (Avx.IsSupported)
                for (; i + 8 <= Steps; i += 8)
                    for (int l = 0; l < Lanes; l += 8)
                        Transpose8.Block(src + (long)i * Lanes + l, Lanes, dst + (long)l * Steps + i, Steps);
            for (; i < Steps; i++)
                for (int l = 0; l < Lanes; l++) dst[(long)l * Steps + i] = src[(long)i * Lanes + l];
            for (int c = Lanes * Steps; c < Cols; c++) dst[c] = src[c];
        }

        private static Vector256<float> Tree8(float* p, long stride) =>
            ((Vector256.Load(p) + Vector256.Load(p + stride)) + (Vector256.Load(p + 2 * stride) + Vector256.Load(p + 3 * stride)))
            + ((Vector256.Load(p + 4 * stride) + Vector256.Load(p + 5 * stride)) + (Vector256.Load(p + 6 * stride) + Vector256.Load(p + 7 * stride)));

        private static Vector256<float> Tree16(float* p, long stride) => Tree8(p, stride) + Tree8(p + 8 * stride, stride);
    }
}
