using Scion.Tensors.Cpu;
using Scion.Tensors.Quant;

namespace Scion.Tensors;

/// <summary>
/// y[t, r] = Σ_c W[r, c]·x[t, c] for a stored weight and fp32 activations, as ggml computes it: quantized weights
/// meet activations quantized once per call to the partner type (Q8_0 / Q8_K) in integer dot products; F16/BF16
/// weights meet activations rounded to F16/BF16 (as ggml converts them), both widened and multiplied in fp32. Work is split by blocks of output rows over the pool; with several
/// tokens each row block is swept once per tile of tokens, so weight rows come from memory once per tile.
/// </summary>
public static unsafe class MatMul
{
    /// <summary>Tokens per tile in prefill: the tile's quantized activations stay in L2 while a row block sweeps them.</summary>
    internal const int TokenTile = 32;

    /// <summary>Rows per work item in prefill: float weights of a block widened to fp32 stay in L2 across the tile.</summary>
    internal const int PrefillRowBlock = 16;

    /// <param name="w">weight [rows, cols]</param>
    /// <param name="x">activations [tokens, cols]</param>
    /// <param name="y">output [tokens, rows]</param>
    public static void Multiply(in WeightMatrix w, ReadOnlySpan<float> x, Span<float> y, int tokens, WorkerPool? pool = null)
    {
        if (tokens <= 0) throw new ArgumentOutOfRangeException(nameof(tokens), tokens, "Need at least one token.");
        if (x.Length < (long)tokens * w.Cols) throw new ArgumentException($"x holds {x.Length} values, [{tokens}, {w.Cols}] needs {(long)tokens * w.Cols}.");
        if (y.Length < (long)tokens * w.Rows) throw new ArgumentException($"y holds {y.Length} values, [{tokens}, {w.Rows}] needs {(long)tokens * w.Rows}.");
        fixed (float* px = x) fixed (float* py = y) Multiply(w, px, py, tokens, pool ?? WorkerPool.Shared, KernelSelection.Current);
    }

    /// <summary>y_a = W_a·x and y_b = W_b·x for two matrices that share their input (gate and up): where their path
    /// prepares the input (rounding or quantizing it, packing panels) it does so once for both. The same bits as one
    /// <see cref="Multiply(in WeightMatrix, ReadOnlySpan{float}, Span{float}, int, WorkerPool?)"/> per matrix.</summary>
    public static void MultiplyShared(in WeightMatrix a, in WeightMatrix b, ReadOnlySpan<float> x, Span<float> ya, Span<float> yb,
        int tokens, WorkerPool? pool = null) =>
        MultiplyShared(a, b, a, 2, x, ya, yb, default, tokens, pool);

    /// <summary>The same for three matrices (Q, K, V).</summary>
    public static void MultiplyShared(in WeightMatrix a, in WeightMatrix b, in WeightMatrix c, ReadOnlySpan<float> x,
        Span<float> ya, Span<float> yb, Span<float> yc, int tokens, WorkerPool? pool = null) =>
        MultiplyShared(a, b, c, 3, x, ya, yb, yc, tokens, pool);

    private static void MultiplyShared(in WeightMatrix a, in WeightMatrix b, in WeightMatrix c, int count, ReadOnlySpan<float> x,
        Span<float> ya, Span<float> yb, Span<float> yc, int tokens, WorkerPool? pool)
    {
        if (tokens <= 0) throw new ArgumentOutOfRangeException(nameof(tokens), tokens, "Need at least one token.");
        WeightMatrix* ws = stackalloc WeightMatrix[3];
        ws[0] = a; ws[1] = b; ws[2] = c;
        for (int i = 0; i < count; i++)
        {
            if (ws[i].Cols != a.Cols) throw new ArgumentException($"Shared-input matmul: matrices have {a.Cols} and {ws[i].Cols} columns.");
            int rows = ws[i].Rows;
            int have = i == 0 ? ya.Length : i == 1 ? yb.Length : yc.Length;
            if (have < (long)tokens * rows) throw new ArgumentException($"Output {i} holds {have} values, [{tokens}, {rows}] needs {(long)tokens * rows}.");
        }
        if (x.Length < (long)tokens * a.Cols) throw new ArgumentException($"x holds {x.Length} values, [{tokens}, {a.Cols}] needs {(long)tokens * a.Cols}.");
        fixed (float* px = x, pa = ya, pb = yb, pc = yc)
        {
            float** ys = stackalloc float*[3];
            ys[0] = pa; ys[1] = pb; ys[2] = pc;
            MultiplyShared(new ReadOnlySpan<WeightMatrix>(ws, count), px, ys, tokens, pool ?? WorkerPool.Shared, KernelSelection.Current);
        }
    }

    /// <summary>Shared-input products: matrices of one type, shape of input and packing take the prepared-once path
    /// of the packed kernels or the float GEMM; anything else runs one <see cref="Multiply(in WeightMatrix, float*, float*, int, WorkerPool, KernelLevel)"/> each.</summary>
    internal static void MultiplyShared(ReadOnlySpan<WeightMatrix> ws, float* x, float** ys, int tokens, WorkerPool pool, KernelLevel level)
    {
        var w0 = ws[0];
        bool alike = true;
        foreach (var w in ws) alike &= w.Type == w0.Type && w.Cols == w0.Cols && (w.Packed == null) == (w0.Packed == null);
        if (alike && tokens > 1)
        {
            if (w0.Packed != null && Packed.PackedMatMul.Supports(w0.Type, level))
            {
                Packed.PackedMatMul.MultiplyShared(ws, x, ys, tokens, pool, level);
                return;
            }
            if (w0.Packed == null && Gemm.FloatGemm.Handles(w0.Type, tokens, level))
            {
                float* act = x;
                if (w0.Type is GgmlType.F16 or GgmlType.BF16)
                {
                    // Rounded to the weight's half type once for all matrices, as Multiply does per matrix.
                    long stride = (long)w0.Cols * sizeof(float);
                    byte* rounded = ThreadScratch.Activations(stride * tokens);
                    var round = new QuantizeJob { X = x, Dst = rounded, Cols = w0.Cols, Stride = stride, Partner = w0.Type, Level = level };
                    pool.Run(tokens, ref round);
                    act = (float*)rounded;
                }
                Gemm.FloatGemm.MultiplyShared(ws, act, ys, tokens, pool, level);
                return;
            }
        }
        for (int i = 0; i < ws.Length; i++) Multiply(ws[i], x, ys[i], tokens, pool, level);
    }

    internal static void Multiply(in WeightMatrix w, float* x, float* y, int tokens, WorkerPool pool, KernelLevel level)
    {
        if (w.Packed != null && Packed.PackedMatMul.Supports(w.Type, level))
        {
            // Weights repacked at load: 8-row interleaved kernels with their own summation order (see PackedKernels).
            Packed.PackedMatMul.Multiply(w, x, y, tokens, pool, level);
            return;
        }
        GgmlType partner = ActivationQuant.PartnerType(w.Type);
        byte* act = (byte*)x;
        byte* sides = null;   // Q4_0/Q8_0 prefill: per group of 8 tokens, see SideArrays
        long actStride = (long)w.Cols * sizeof(float);
        if (partner != GgmlType.F32)
        {
            // Quantize every activation row once; all weight rows reuse it.
            actStride = GgmlTypeInfo.RowBytes(partner, w.Cols);
            long actBytes = (actStride * tokens + 63) & ~63L;
            // Sides only for whole groups of eight tokens: the rest go through the 2x4 and single-row kernels.
            int grouped = UsesQuantTiles(w.Type, level) ? tokens / SimdVecDot.QuantTileTokens * SimdVecDot.QuantTileTokens : 0;
            long sideBytes = (long)grouped * (w.Cols / 32) * SimdVecDot.SideBytesPerBlock;
            act = ThreadScratch.Activations(actBytes + sideBytes);
            if (grouped > 0) sides = act + actBytes;
            var quantize = new QuantizeJob
            {
                X = x, Dst = act, Cols = w.Cols, Stride = actStride, Partner = partner, Level = level,
                Sides = sides, Grouped = grouped, Offset = w.Type == GgmlType.Q4_0 ? 8 : 128,
            };
            if (tokens == 1) quantize.Execute(0);
            else pool.Run(tokens, ref quantize);
        }
        else if (w.Type is GgmlType.F16 or GgmlType.BF16)
        {
            // ggml converts activations to the weight's half type before the dot; do the same rounding so
            // results track llama.cpp's (matters for greedy ties on F16 models).
            act = ThreadScratch.Activations(actStride * tokens);
            var round = new QuantizeJob { X = x, Dst = act, Cols = w.Cols, Stride = actStride, Partner = w.Type, Level = level };
            if (tokens == 1) round.Execute(0);
            else pool.Run(tokens, ref round);
        }
        if (Gemm.FloatGemm.Handles(w.Type, tokens, level))
        {
            // Float weights, many tokens: one packed-panel GEMM (Gemm/FloatGemm.cs) instead of the dot-product tiles.
            Gemm.FloatGemm.Multiply(w, (float*)act, y, tokens, pool, level);
            return;
        }

        int rowsPerItem;
        if (tokens == 1)
        {
            // Enough items per thread that a slow thread's leftovers get picked up by the others.
            int items = pool.ThreadCount * 8;
            rowsPerItem = Math.Clamp((w.Rows + items - 1) / items, 1, 256);
        }
        else
        {
            // Up to PrefillRowBlock rows, fewer when the matrix is short so every thread still gets a few items.
            int items = pool.ThreadCount * 4;
            rowsPerItem = Math.Clamp((w.Rows + items - 1) / items, 2, PrefillRowBlock);
        }
        var job = new MatMulJob
        {
            Weights = w.Data, Type = w.Type, Rows = w.Rows, Cols = w.Cols, RowBytes = w.RowBytes,
            Activations = act, ActivationStride = actStride, Y = y, Tokens = tokens, RowsPerItem = rowsPerItem, Level = level,
            Sides = sides,
        };
        pool.Run((w.Rows + rowsPerItem - 1) / rowsPerItem, ref job);
    }

    // Q4_0 / Q8_0 weights enter the 2-row prefill tiles unsigned; Q8_0 bytes + 128 need VNNI (vpmaddubsw would saturate).
    private static bool UsesQuantTiles(GgmlType type, KernelLevel level) =>
        level == KernelLevel.Avx512 && (type == GgmlType.Q4_0 || (type == GgmlType.Q8_0 && KernelSelection.UsesVnni(level)));

    // Group g of 8 tokens owns SideBytesPerBlock * 8 * blocks bytes: quants [blocks, 8, 32], negated lane sums
    // [blocks, 8, 8] ints, scales [blocks, 8] floats.
    private static void SideArrays(byte* sides, int blocks, int group, out sbyte* qs, out int* negLaneSums, out float* scales)
    {
        byte* g = sides + (long)group * blocks * 8 * SimdVecDot.SideBytesPerBlock;
        qs = (sbyte*)g;
        negLaneSums = (int*)(g + (long)blocks * 8 * 32);
        scales = (float*)(negLaneSums + (long)blocks * 64);
    }

    private struct QuantizeJob : IParallelJob
    {
        public float* X;        // [tokens, cols]
        public byte* Dst;       // [tokens, Stride]
        public int Cols;
        public long Stride;
        public GgmlType Partner;
        public KernelLevel Level;
        public byte* Sides;         // groups of 8 tokens, see SideArrays; null when unused
        public int Grouped;         // tokens with sides: whole groups of 8
        public int Offset;

        public readonly void Execute(int t)
        {
            if (Partner is GgmlType.F16 or GgmlType.BF16) ActivationQuant.RoundThrough(Partner, X + (long)t * Cols, (float*)(Dst + t * Stride), Cols, Level);
            else ActivationQuant.Row(Partner, X + (long)t * Cols, Dst + t * Stride, Cols, Level);
            if (t < Grouped)
            {
                int blocks = Cols / 32;
                SideArrays(Sides, blocks, t / SimdVecDot.QuantTileTokens, out sbyte* qs, out int* negLaneSums, out float* scales);
                SimdVecDot.ActivationSides(Dst + t * Stride, blocks, Offset, t % SimdVecDot.QuantTileTokens, qs, negLaneSums, scales);
            }
        }
    }

    private struct MatMulJob : IParallelJob
    {
        public byte* Weights;       // [rows, RowBytes]
        public GgmlType Type;
        public int Rows, Cols;
        public long RowBytes;
        public byte* Activations;   // [tokens, ActivationStride]: fp32 or partner blocks
        public long ActivationStride;
        public float* Y;            // [tokens, rows]
        public int Tokens;
        public int RowsPerItem;
        public KernelLevel Level;
        public byte* Sides;         // Q4_0/Q8_0 groups of 8 tokens (see SideArrays) or null

        public readonly void Execute(int item)
        {
            int r0 = item * RowsPerItem;
            int r1 = Math.Min(Rows, r0 + RowsPerItem);
            if (Tokens == 1)
            {
                int r = r0;
                if (Level != KernelLevel.Scalar)
                {
                    // Several rows per pass share each activation load and keep independent accumulators in flight;
                    // every row still sums in the order of its single-row dot.
                    for (; r + 4 <= r1; r += 4)
                    {
                        byte* wr = Weights + r * RowBytes;
                        switch (Type)
                        {
                            case GgmlType.F32: SimdVecDot.Rows4<F32Loader>(wr, RowBytes, (float*)Activations, Cols, Level, Y + r); break;
                            case GgmlType.F16: SimdVecDot.Rows4<HalfWidener>(wr, RowBytes, (float*)Activations, Cols, Level, Y + r); break;
                            case GgmlType.BF16: SimdVecDot.Rows4<BFloat16Widener>(wr, RowBytes, (float*)Activations, Cols, Level, Y + r); break;
                            default: VecDot.Rows4(Type, wr, RowBytes, Activations, Cols, Level, Y + r); break;
                        }
                    }
                }
                for (; r < r1; r++) Y[r] = VecDot.Dot(Type, Weights + r * RowBytes, Activations, Cols, Level);
                return;
            }

            byte* rows = Weights;
            long rowBytes = RowBytes;
            GgmlType type = Type;
            if (type is GgmlType.F16 or GgmlType.BF16 && Level != KernelLevel.Scalar)
            {
                // Widen the block once instead of once per token.
                float* wide = (float*)ThreadScratch.Rows((long)(r1 - r0) * Cols * sizeof(float));
                for (int r = r0; r < r1; r++)
                    Dequantize.Row(type, Weights + r * RowBytes, wide + (long)(r - r0) * Cols, Cols, Level);
                rows = (byte*)wide - r0 * (long)Cols * sizeof(float);
                rowBytes = (long)Cols * sizeof(float);
                type = GgmlType.F32;
            }
            float* four = stackalloc float[4];
            float* eight = stackalloc float[8];
            float* sixteen = stackalloc float[16];
            float* thirtyTwo = stackalloc float[32];
            for (int t0 = 0; t0 < Tokens; t0 += TokenTile)
            {
                int t1 = Math.Min(Tokens, t0 + TokenTile);
                int r = r0;
                if (type == GgmlType.F32 && Level == KernelLevel.Avx512)
                {
                    // Float weights: 4 rows x 4 tokens per step, 8 loads per 16 FMAs (see F32x4x4).
                    for (; r + 4 <= r1; r += 4)
                    {
                        float* w0 = (float*)(rows + r * rowBytes);
                        int t = t0;
                        for (; t + 4 <= t1; t += 4)
                        {
                            SimdVecDot.F32x4x4(w0, rowBytes / sizeof(float), (float*)(Activations + t * ActivationStride), ActivationStride / sizeof(float), Cols, sixteen);
                            for (int q = 0; q < 4; q++)
                                for (int k = 0; k < 4; k++) Y[(long)(t + k) * Rows + r + q] = sixteen[4 * q + k];
                        }
                        for (; t < t1; t++)
                            for (int q = 0; q < 4; q++)
                                Y[(long)t * Rows + r + q] = VecDot.Dot(type, rows + (r + q) * rowBytes, Activations + t * ActivationStride, Cols, Level);
                    }
                }
                if (type == GgmlType.F32 && Level != KernelLevel.Scalar)
                {
                    // Float weights: 2 rows x 4 tokens per step keeps the FMA units, not the loads, busy.
                    for (; r + 2 <= r1; r += 2)
                    {
                        float* w0 = (float*)(rows + r * rowBytes), w1 = (float*)(rows + (r + 1) * rowBytes);
                        int t = t0;
                        for (; t + 4 <= t1; t += 4)
                        {
                            SimdVecDot.F32x2x4(w0, w1, (float*)(Activations + t * ActivationStride), ActivationStride / sizeof(float), Cols, Level, eight);
                            for (int k = 0; k < 4; k++)
                            {
                                Y[(long)(t + k) * Rows + r] = eight[k];
                                Y[(long)(t + k) * Rows + r + 1] = eight[4 + k];
                            }
                        }
                        for (; t < t1; t++)
                        {
                            Y[(long)t * Rows + r] = VecDot.Dot(type, (byte*)w0, Activations + t * ActivationStride, Cols, Level);
                            Y[(long)t * Rows + r + 1] = VecDot.Dot(type, (byte*)w1, Activations + t * ActivationStride, Cols, Level);
                        }
                    }
                }
                if (UsesQuantTiles(type, Level))
                {
                    // Q4_0/Q8_0: 2 rows x 8 tokens (or 4) share the unpacked weights, activation lane sums and scales.
                    int blocks = Cols / 32;
                    if (Sides != null)
                    {
                        for (; r + 4 <= r1; r += 4)
                        {
                            byte* w0 = rows + r * rowBytes;
                            for (int t = t0; t + 8 <= t1; t += 8)
                            {
                                SideArrays(Sides, blocks, t / SimdVecDot.QuantTileTokens, out sbyte* qs, out int* k, out float* d);
                                if (KernelSelection.UsesVnni(Level))
                                    SimdVecDot.QuantBlock32x4x8<VnniDot>(type, w0, rowBytes, qs, k, d, blocks, thirtyTwo);
                                else
                                    SimdVecDot.QuantBlock32x4x8<MaddubsDot>(type, w0, rowBytes, qs, k, d, blocks, thirtyTwo);
                                for (int q = 0; q < 4; q++)
                                    for (int j = 0; j < 8; j++) Y[(long)(t + j) * Rows + r + q] = thirtyTwo[8 * q + j];
                            }
                            // Tokens past the last whole group: the 4 rows as two pairs below would redo the groups.
                            int tail = t0 + (t1 - t0) / 8 * 8;
                            for (int t = tail; t < t1; t++)
                                for (int q = 0; q < 4; q++)
                                    Y[(long)t * Rows + r + q] = VecDot.Dot(type, w0 + q * rowBytes, Activations + t * ActivationStride, Cols, Level);
                        }
                    }
                    for (; r + 2 <= r1; r += 2)
                    {
                        byte* w0 = rows + r * rowBytes;
                        int t = t0;
                        if (Sides != null)
                        {
                            // t0 is a multiple of TokenTile, so t stays a multiple of 8 and covers whole groups.
                            for (; t + 8 <= t1; t += 8)
                            {
                                SideArrays(Sides, blocks, t / SimdVecDot.QuantTileTokens, out sbyte* qs, out int* k, out float* d);
                                if (KernelSelection.UsesVnni(Level))
                                    SimdVecDot.QuantBlock32x2x8<VnniDot>(type, w0, w0 + rowBytes, qs, k, d, blocks, sixteen);
                                else
                                    SimdVecDot.QuantBlock32x2x8<MaddubsDot>(type, w0, w0 + rowBytes, qs, k, d, blocks, sixteen);
                                for (int j = 0; j < 8; j++)
                                {
                                    Y[(long)(t + j) * Rows + r] = sixteen[j];
                                    Y[(long)(t + j) * Rows + r + 1] = sixteen[8 + j];
                                }
                            }
                        }
                        for (; t + 4 <= t1; t += 4)
                        {
                            if (KernelSelection.UsesVnni(Level))
                                SimdVecDot.QuantBlock32x2x4<VnniDot>(type, w0, w0 + rowBytes, Activations + t * ActivationStride, ActivationStride, Cols, eight);
                            else
                                SimdVecDot.QuantBlock32x2x4<MaddubsDot>(type, w0, w0 + rowBytes, Activations + t * ActivationStride, ActivationStride, Cols, eight);
                            for (int k = 0; k < 4; k++)
                            {
                                Y[(long)(t + k) * Rows + r] = eight[k];
                                Y[(long)(t + k) * Rows + r + 1] = eight[4 + k];
                            }
                        }
                        for (; t < t1; t++)
                        {
                            Y[(long)t * Rows + r] = VecDot.Dot(type, w0, Activations + t * ActivationStride, Cols, Level);
                            Y[(long)t * Rows + r + 1] = VecDot.Dot(type, w0 + rowBytes, Activations + t * ActivationStride, Cols, Level);
                        }
                    }
                }
                for (; r < r1; r++)
                {
                    byte* wr = rows + r * rowBytes;
                    int t = t0;
                    if (type == GgmlType.Q4_K && Level == KernelLevel.Avx512)
                    {
                        // Q4_K: one row x 8 tokens, nibbles unpacked once, float steps for the 8 tokens in one vector.
                        for (; t + 8 <= t1; t += 8)
                        {
                            SimdVecDot.Q4_K512x8(wr, Activations + t * ActivationStride, ActivationStride, Cols, eight);
                            for (int k = 0; k < 8; k++) Y[(long)(t + k) * Rows + r] = eight[k];
                        }
                    }
                    else if (type == GgmlType.Q6_K && Level != KernelLevel.Scalar)
                    {
                        for (; t + 8 <= t1; t += 8)
                        {
                            if (KernelSelection.UsesVnni(Level))
                                SimdVecDot.Q6_Kx8<VnniDot>(wr, Activations + t * ActivationStride, ActivationStride, Cols, eight);
                            else
                                SimdVecDot.Q6_Kx8<MaddubsDot>(wr, Activations + t * ActivationStride, ActivationStride, Cols, eight);
                            for (int k = 0; k < 8; k++) Y[(long)(t + k) * Rows + r] = eight[k];
                        }
                    }
                    for (; t + 4 <= t1; t += 4)
                    {
                        VecDot.Dot4(type, wr, Activations + t * ActivationStride, ActivationStride, Cols, Level, four);
                        for (int k = 0; k < 4; k++) Y[(long)(t + k) * Rows + r] = four[k];
                    }
                    for (; t < t1; t++)
                        Y[(long)t * Rows + r] = VecDot.Dot(type, wr, Activations + t * ActivationStride, Cols, Level);
                }
            }
        }
    }
}
