using Scion.Tensors.Cpu;
using Scion.Tensors.Quant;

namespace Scion.Tensors.Packed;

/// <summary>
/// y[t, r] = Σ_c W[r, c]·x[t, c] through a <see cref="PackedWeights"/> copy: activations are quantized to Q8_0 once
/// (plus their <see cref="ActivationSide"/>s), work is split by runs of 8-row groups; one token uses the GEMV
/// kernel, several sweep each group with 8-token tiles (then 4) and take leftover tokens one at a time (same bits).
/// </summary>
internal static unsafe class PackedMatMul
{
    /// <summary>Tokens per tile: their quantized activations stay in L2 while a run of groups sweeps them.</summary>
    private const int TokenTile = 32;

    /// <summary>Whether <paramref name="level"/> runs packed <paramref name="type"/> weights. Q8_0 enters as w + 128,
    /// whose pair products would saturate vpmaddubsw, so it needs VNNI; Q4_0 nibbles work with either strategy.</summary>
    public static bool Supports(GgmlType type, KernelLevel level) => type switch
    {
        GgmlType.Q4_0 => level != KernelLevel.Scalar,
        GgmlType.Q8_0 => KernelSelection.UsesVnni(level),
        _ => false,
    };

    /// <param name="w">weight [rows, cols] with <see cref="WeightMatrix.Packed"/> set</param>
    /// <param name="x">activations [tokens, cols]</param>
    /// <param name="y">output [tokens, rows]</param>
    public static void Multiply(in WeightMatrix w, float* x, float* y, int tokens, WorkerPool pool, KernelLevel level)
    {
        WeightMatrix one = w;
        MultiplyShared(new ReadOnlySpan<WeightMatrix>(&one, 1), x, &y, tokens, pool, level);
    }

    /// <summary>Products of several packed matrices of one type with the same input (Q, K, V; gate, up): the input is
    /// quantized once for all of them. Same bits as separate <see cref="Multiply"/>s.</summary>
    /// <param name="ys">per matrix, output [tokens, rows_i]</param>
    public static void MultiplyShared(ReadOnlySpan<WeightMatrix> ws, float* x, float** ys, int tokens, WorkerPool pool, KernelLevel level)
    {
        var w0 = ws[0];
        foreach (var w in ws)
            if (w.Cols != w0.Cols || w.Type != w0.Type)
                throw new ArgumentException($"Shared-input matmul: matrices are {w0.Type} [_, {w0.Cols}] and {w.Type} [_, {w.Cols}].", nameof(ws));
        int blocks = w0.Cols / 32;
        long actStride = (long)blocks * BlockLayout.Q8_0Bytes;
        long actBytes = (actStride * tokens + 63) & ~63L;
        byte* act = ThreadScratch.Activations(actBytes + (long)tokens * blocks * sizeof(ActivationSide));
        var quantize = new QuantizeJob
        {
            X = x, Act = act, Side = (ActivationSide*)(act + actBytes), Cols = w0.Cols, Stride = actStride, Level = level,
            Offset = w0.Type == GgmlType.Q4_0 ? PackedQ4_0.Offset : PackedQ8_0.Offset,
        };
        if (tokens == 1) quantize.Execute(0);
        else pool.Run(tokens, ref quantize);
        for (int i = 0; i < ws.Length; i++) Product(ws[i], act, actStride, quantize.Side, ys[i], tokens, pool, level);
    }

    private static void Product(in WeightMatrix w, byte* act, long actStride, ActivationSide* side, float* y, int tokens, WorkerPool pool, KernelLevel level)
    {
        int blocks = w.Cols / 32;
        int groups = (w.Rows + 7) / 8;
        int groupsPerItem;
        if (tokens == 1)
        {
            // Enough items per thread that a slow thread's leftovers get picked up by the others.
            int items = pool.ThreadCount * 8;
            groupsPerItem = Math.Clamp((groups + items - 1) / items, 1, 64);
        }
        else
        {
            int items = pool.ThreadCount * 4;
            groupsPerItem = Math.Clamp((groups + items - 1) / items, 1, 4);
        }
        var job = new Job
        {
            Packed = w.Packed, GroupBytes = PackedWeights.GroupBytesFor(w.Type, w.Cols), Rows = w.Rows, Blocks = blocks,
            Act = act, ActStride = actStride, Side = side, Y = y, Tokens = tokens, GroupsPerItem = groupsPerItem,
            Kind = (w.Type == GgmlType.Q4_0 ? 0 : 2) + (KernelSelection.UsesVnni(level) ? 0 : 1),
        };
        pool.Run((groups + groupsPerItem - 1) / groupsPerItem, ref job);
    }

    private struct QuantizeJob : IParallelJob
    {
        public float* X;                // [tokens, cols]
        public byte* Act;               // [tokens, Stride] Q8_0
        public ActivationSide* Side;    // [tokens, blocks]
        public int Cols;
        public long Stride;
        public KernelLevel Level;
        public int Offset;

        public readonly void Execute(int t)
        {
            ActivationQuant.Row(GgmlType.Q8_0, X + (long)t * Cols, Act + t * Stride, Cols, Level);
            ActivationSide.Fill(Act + t * Stride, Cols / 32, Offset, Side + (long)t * (Cols / 32));
        }
    }

    private struct Job : IParallelJob
    {
        public byte* Packed;            // [groups, GroupBytes]
        public long GroupBytes;
        public int Rows, Blocks;
        public byte* Act;               // [tokens, ActStride]
        public long ActStride;
        public ActivationSide* Side;    // [tokens, Blocks]
        public float* Y;                // [tokens, Rows]
        public int Tokens;
        public int GroupsPerItem;
        public int Kind;                // Q4_0 vnni, Q4_0 maddubs, Q8_0 vnni

        public readonly void Execute(int item)
        {
            switch (Kind)
            {
                case 0: Run<VnniDot, PackedQ4_0>(item); break;
                case 1: Run<MaddubsDot, PackedQ4_0>(item); break;
                default: Run<VnniDot, PackedQ8_0>(item); break;
            }
        }

        private readonly void Run<TDot, TFormat>(int item) where TDot : struct, IInt8DotProduct where TFormat : struct, IPackedFormat
        {
            int g0 = item * GroupsPerItem;
            int g1 = Math.Min((Rows + 7) / 8, g0 + GroupsPerItem);
            float* part = stackalloc float[8 * 8];   // a padded last group's lanes
            for (int t0 = 0; t0 < Tokens; t0 += TokenTile)
            {
                int t1 = Math.Min(Tokens, t0 + TokenTile);
                for (int g = g0; g < g1; g++)
                {
                    byte* group = Packed + g * GroupBytes;
                    bool whole = 8 * g + 8 <= Rows;
                    int t = t0;
                    for (; t + 8 <= t1; t += 8)
                    {
                        float* dst = whole ? Y + (long)t * Rows + 8 * g : part;
                        long dstStride = whole ? Rows : 8;
                        PackedKernels.Gemm8<TDot, TFormat>(group, Blocks, Act + t * ActStride, ActStride, Side + (long)t * Blocks, dst, dstStride);
                        if (!whole) CopyPart(part, 8, t, g);
                    }
                    for (; t + 4 <= t1; t += 4)
                    {
                        float* dst = whole ? Y + (long)t * Rows + 8 * g : part;
                        long dstStride = whole ? Rows : 8;
                        PackedKernels.Gemm4<TDot, TFormat>(group, Blocks, Act + t * ActStride, ActStride, Side + (long)t * Blocks, dst, dstStride);
                        if (!whole) CopyPart(part, 4, t, g);
                    }
                    for (; t < t1; t++)
                    {
                        float* dst = whole ? Y + (long)t * Rows + 8 * g : part;
                        PackedKernels.Gemv<TDot, TFormat>(group, Blocks, Act + t * ActStride, Side + (long)t * Blocks, dst, group + GroupBytes);
                        if (!whole) CopyPart(part, 1, t, g);
                    }
                }
            }
        }

        private readonly void CopyPart(float* part, int tokens, int t, int g)
        {
            for (int j = 0; j < tokens; j++)
                for (int r = 8 * g; r < Rows; r++) Y[(long)(t + j) * Rows + r] = part[8 * j + r - 8 * g];
        }
    }
}
