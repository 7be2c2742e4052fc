using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Scion.Tensors.Cpu;
using Scion.Tensors.Reference;

namespace Scion.Tensors.Gemm;

/// <summary>
/// Prefill with float weights (F32, F16, BF16): y[t, r] = Σ_c W[r, c]·x[t, c] for many tokens as one packed-panel
/// GEMM, yᵀ = W · xᵀ. The activations are packed once per call into k-major panels of <see cref="TokenPanel"/> tokens
/// ([cols][64], tokens past the end zero), so one k pass of a panel is a contiguous 32 KiB that stays in L1. Each work
/// item owns a block of weight rows, widens it to fp32 one k pass at a time ([rows][KBlock], in L2) and runs
/// <see cref="PanelKernel"/> with weight values broadcast against vectors of tokens: 4 rows × 64 tokens in 16 AVX-512
/// accumulators, 8 loads per 16 FMAs, no horizontal sums. The item's output tile [rows, tokens] is transposed into y.
/// Every output sums in one order: sum = 0; for each pass of <see cref="KBlock"/> columns acc = 0, acc = fma(w, x, acc)
/// along the pass, sum += acc. <see cref="Reference"/> is the scalar twin; the order does not depend on the thread count.
/// </summary>
internal static unsafe class FloatGemm
{
    /// <summary>Tokens per activation panel: the width of the panel kernel's widest tile.</summary>
    public const int TokenPanel = 64;

    /// <summary>Columns per k pass: a panel's pass (64 tokens × 128 floats = 32 KiB) stays in a 48 KiB L1.</summary>
    public const int KBlock = 128;

    /// <summary>Most weight rows per work item; the widened block (64 × 128 floats) stays in L2.</summary>
    public const int MaxRowBlock = 64;

    /// <summary>Fewest tokens worth the GEMM: tokens are padded to a multiple of 16, so tiny batches waste lanes and
    /// go through the dot-product tiles instead.</summary>
    public const int MinTokens = 8;

    // Columns per activation pack item.
    private const int PackCols = 256;

    /// <summary>Whether <see cref="Multiply"/> computes this product (the Scalar level keeps the dot-product path).</summary>
    public static bool Handles(GgmlType type, int tokens, KernelLevel level) =>
        level != KernelLevel.Scalar && tokens >= MinTokens && type is GgmlType.F32 or GgmlType.F16 or GgmlType.BF16;

    /// <param name="w">weight [rows, cols], F32/F16/BF16</param>
    /// <param name="x">activations [tokens, cols], already rounded to the weight's half type where ggml does</param>
    /// <param name="y">output [tokens, rows]</param>
    public static void Multiply(in WeightMatrix w, float* x, float* y, int tokens, WorkerPool pool, KernelLevel level)
    {
        int padded = (tokens + 15) & ~15;   // whole 16-token vectors: the kernel has no masked tails
        int panels = (padded + TokenPanel - 1) / TokenPanel;
        float* packed = GemmScratch.Panels((long)panels * w.Cols * TokenPanel);   // [panels][cols][64]
        var pack = new PackJob
        {
            X = x, Packed = packed, Cols = w.Cols, Tokens = tokens, Padded = padded, ColBlocks = (w.Cols + PackCols - 1) / PackCols,
        };
        pool.Run(panels * pack.ColBlocks, ref pack);

        int rowBlock = RowBlock(w.Rows, pool.ThreadCount);
        var job = new ProductJob
        {
            Weights = w.Data, Type = w.Type, Rows = w.Rows, Cols = w.Cols, RowBytes = w.RowBytes, Packed = packed,
            Tokens = tokens, Padded = padded, Panels = panels, RowBlock = rowBlock, Y = y, Level = level,
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

    /// <summary>Scalar twin of <see cref="Multiply"/>: the same widening, products and summation order, so equal bitwise.</summary>
    public static void Reference(in WeightMatrix w, float* x, float* y, int tokens)
    {
        var wide = new float[w.Cols];
        fixed (float* pw = wide)
        {
            for (int r = 0; r < w.Rows; r++)
            {
                ReferenceDequantize.Row(w.Type, w.Data + r * w.RowBytes, pw, w.Cols);
                for (int t = 0; t < tokens; t++)
                {
                    float* xt = x + (long)t * w.Cols;
                    float sum = 0f;
                    for (int p0 = 0; p0 < w.Cols; p0 += KBlock)
                    {
                        int p1 = Math.Min(w.Cols, p0 + KBlock);
                        float acc = 0f;
                        for (int p = p0; p < p1; p++) acc = MathF.FusedMultiplyAdd(pw[p], xt[p], acc);
                        sum += acc;
                    }
                    y[(long)t * w.Rows + r] = sum;
                }
            }
        }
    }

    /// <summary>x [tokens, cols] → panels [panels][cols][64]; item = (panel, block of PackCols columns).</summary>
    private struct PackJob : IParallelJob
    {
        public float* X;        // [tokens, cols]
        public float* Packed;   // [panels][cols][TokenPanel]
        public int Cols, Tokens, Padded, ColBlocks;

        public readonly void Execute(int item)
        {
            int panel = item / ColBlocks;
            int c0 = item % ColBlocks * PackCols, c1 = Math.Min(Cols, c0 + PackCols);
            int t0 = panel * TokenPanel;
            int width = Math.Min(TokenPanel, Padded - t0);
            int live = Math.Min(width, Tokens - t0);
            float* dst = Packed + (long)panel * Cols * TokenPanel;
            float* src = X + (long)t0 * Cols;
            int c = c0;
            if (Avx.IsSupported)
            {
                // 8 × 8 blocks through registers: a column-at-a-time walk would read 64 rows Cols apart, which all
                // fall in one L1 set and thrash it.
                int wholeTokens = live & ~7;
                for (; c + 8 <= c1; c += 8)
                {
                    for (int j = 0; j < wholeTokens; j += 8)
                        Transpose8x8(src + (long)j * Cols + c, Cols, dst + (long)c * TokenPanel + j, TokenPanel);
                    for (int q = 0; q < 8; q++) Tail(src, dst, c + q, wholeTokens, live, width);
                }
            }
            for (; c < c1; c++) Tail(src, dst, c, 0, live, width);
        }

        // Column c of the panel from token j0 on: live tokens copied, the padding zero.
        private readonly void Tail(float* src, float* dst, int c, int j0, int live, int width)
        {
            float* d = dst + (long)c * TokenPanel;
            int j = j0;
            for (; j < live; j++) d[j] = src[(long)j * Cols + c];
            for (; j < width; j++) d[j] = 0f;
        }
    }

    // dst[q, i] = src[i, q] for an 8 × 8 block; rows srcStride / dstStride floats apart.
    private static void Transpose8x8(float* src, long srcStride, float* dst, long dstStride)
    {
        var r0 = Vector256.Load(src);
        var r1 = Vector256.Load(src + srcStride);
        var r2 = Vector256.Load(src + 2 * srcStride);
        var r3 = Vector256.Load(src + 3 * srcStride);
        var r4 = Vector256.Load(src + 4 * srcStride);
        var r5 = Vector256.Load(src + 5 * srcStride);
        var r6 = Vector256.Load(src + 6 * srcStride);
        var r7 = Vector256.Load(src + 7 * srcStride);
        // Interleave pairs of rows: t0 = a0 b0 a1 b1 | a4 b4 a5 b5, ...
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        // Then quads: s0 = a0 b0 c0 d0 | a4 b4 c4 d4, s1 = column 1 | 5, ...
        var s0 = Avx.Shuffle(t0, t2, 0x44); var s1 = Avx.Shuffle(t0, t2, 0xEE);
        var s2 = Avx.Shuffle(t1, t3, 0x44); var s3 = Avx.Shuffle(t1, t3, 0xEE);
        var s4 = Avx.Shuffle(t4, t6, 0x44); var s5 = Avx.Shuffle(t4, t6, 0xEE);
        var s6 = Avx.Shuffle(t5, t7, 0x44); var s7 = Avx.Shuffle(t5, t7, 0xEE);
        // Then halves: low 128 bits of the rows 0-3 quad with those of rows 4-7.
        Avx.Permute2x128(s0, s4, 0x20).Store(dst);
        Avx.Permute2x128(s1, s5, 0x20).Store(dst + dstStride);
        Avx.Permute2x128(s2, s6, 0x20).Store(dst + 2 * dstStride);
        Avx.Permute2x128(s3, s7, 0x20).Store(dst + 3 * dstStride);
        Avx.Permute2x128(s0, s4, 0x31).Store(dst + 4 * dstStride);
        Avx.Permute2x128(s1, s5, 0x31).Store(dst + 5 * dstStride);
        Avx.Permute2x128(s2, s6, 0x31).Store(dst + 6 * dstStride);
        Avx.Permute2x128(s3, s7, 0x31).Store(dst + 7 * dstStride);
    }

    /// <summary>One block of weight rows against every token: widen a k pass, run the panels, transpose the tile out.</summary>
    private struct ProductJob : IParallelJob
    {
        public byte* Weights;   // [rows, RowBytes]
        public GgmlType Type;
        public int Rows, Cols;
        public long RowBytes;
        public float* Packed;   // [Panels][cols][TokenPanel]
        public int Tokens, Padded, Panels, RowBlock;
        public float* Y;        // [tokens, rows]
        public KernelLevel Level;

        public readonly void Execute(int item)
        {
            int r0 = item * RowBlock;
            int m = Math.Min(RowBlock, Rows - r0);
            float* tile = GemmScratch.Tile((long)m * Padded);   // [m, Padded]
            new Span<float>(tile, m * Padded).Clear();
            float* block = Type == GgmlType.F32 ? null : GemmScratch.Block((long)m * KBlock);   // [m, kc]
            int halfBytes = Type == GgmlType.F32 ? sizeof(float) : sizeof(ushort);
            for (int p0 = 0; p0 < Cols; p0 += KBlock)
            {
                int kc = Math.Min(KBlock, Cols - p0);
                float* a;
                int lda;
                if (Type == GgmlType.F32)
                {
                    // Already fp32: broadcast straight from the rows.
                    a = (float*)(Weights + r0 * RowBytes) + p0;
                    lda = (int)(RowBytes / sizeof(float));
                }
                else
                {
                    for (int i = 0; i < m; i++)
                        Dequantize.Row(Type, Weights + (r0 + i) * RowBytes + (long)p0 * halfBytes, block + (long)i * kc, kc, Level);
                    a = block;
                    lda = kc;
                }
                if (p0 + KBlock < Cols && Sse.IsSupported)
                {
                    // Ask for the next pass's weights now: 64 short row pieces are too scattered for the hardware
                    // prefetcher, and waiting for them at the next widening stalls the FMAs.
                    long bytes = (long)Math.Min(KBlock, Cols - p0 - KBlock) * halfBytes;
                    for (int i = 0; i < m; i++)
                    {
                        byte* next = Weights + (r0 + i) * RowBytes + (long)(p0 + KBlock) * halfBytes;
                        for (long o = 0; o < bytes; o += 64) Sse.Prefetch1(next + o);
                    }
                }
                for (int j = 0; j < Panels; j++)
                {
                    int width = Math.Min(TokenPanel, Padded - j * TokenPanel);
                    PanelKernel.Accumulate(a, lda, Packed + ((long)j * Cols + p0) * TokenPanel, TokenPanel,
                        tile + j * TokenPanel, Padded, m, width, kc, Level);
                }
            }
            // tile [m, Padded] → y[t, r0 + i]; 8 × 8 blocks, as a column walk of the tile would hit one L1 set.
            int t8 = Avx.IsSupported ? Tokens & ~7 : 0, m8 = m & ~7;
            for (int t = 0; t < t8; t += 8)
                for (int i = 0; i < m8; i += 8)
                    Transpose8x8(tile + (long)i * Padded + t, Padded, Y + (long)t * Rows + r0 + i, Rows);
            for (int t = 0; t < Tokens; t++)
            {
                float* yr = Y + (long)t * Rows + r0;
                for (int i = t < t8 ? m8 : 0; i < m; i++) yr[i] = tile[(long)i * Padded + t];
            }
        }
    }
}
