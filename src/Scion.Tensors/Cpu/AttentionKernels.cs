using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Scion.Tensors.Quant;
using Scion.Tensors.Reference;

namespace Scion.Tensors.Cpu;

/// <summary>
/// The inner loops of attention over a KV cache, for the query heads of one KV group together (GQA): each key or
/// value row is read and widened once for all of the group's queries. Rows are F16 (llama.cpp's default cache), or
/// Q8_0 / Q4_0 blocks (its -ctk/-ctv q8_0, q4_0), widened to float on the fly: a chunk of a quantized row is its
/// integers times the block scale, so the dot products and sums keep the F16 path's order. Scalar twins with the same
/// order are in <see cref="ReferenceAttention"/>; <see cref="Lanes"/> names the order a level and head size use.
/// </summary>
public static unsafe class AttentionKernels
{
    /// <summary>The vector width the kernels run at for this level and head size (1 = the sequential scalar order).</summary>
    public static int Lanes(int headDim, KernelLevel level) =>
        level == KernelLevel.Avx512 && headDim % 16 == 0 ? 16 : level >= KernelLevel.Avx2 && headDim % 8 == 0 ? 8 : 1;

    /// <summary>The cache row formats the kernels read.</summary>
    public static bool CanRead(GgmlType type) => type is GgmlType.F16 or GgmlType.Q8_0 or GgmlType.Q4_0;

    /// <summary>scores[j·scoreStride + k] = scale · (query j · key k) for j &lt; group, k &lt; count.</summary>
    /// <param name="queries">[group, headDim] floats.</param>
    /// <param name="keys">count rows of headDim halves, keyStride halves apart.</param>
    /// <param name="finite">The caller knows every key half is finite (no Inf/NaN), so the short widening applies.</param>
    public static void Scores(float* queries, int group, int headDim, Half* keys, int keyStride, int count, float scale,
        float* scores, int scoreStride, bool finite, KernelLevel level) =>
        Scores(queries, group, headDim, KvRows.Halves(keys, keyStride), count, scale, scores, scoreStride, finite, level);

    /// <summary>As above over rows of any readable format (<see cref="CanRead"/>); <paramref name="finite"/> matters
    /// for F16 only (a quantized row is finite whenever its block scales are).</summary>
    public static void Scores(float* queries, int group, int headDim, KvRows keys, int count, float scale,
        float* scores, int scoreStride, bool finite, KernelLevel level)
    {
        int lanes = Lanes(headDim, level);
        switch (keys.Type)
        {
            case GgmlType.F16 when finite: Scores<FiniteF16>(lanes, queries, group, headDim, keys, count, scale, scores, scoreStride); break;
            case GgmlType.F16: Scores<ExactF16>(lanes, queries, group, headDim, keys, count, scale, scores, scoreStride); break;
            case GgmlType.Q8_0: Scores<Q8_0Row>(lanes, queries, group, headDim, keys, count, scale, scores, scoreStride); break;
            case GgmlType.Q4_0: Scores<Q4_0Row>(lanes, queries, group, headDim, keys, count, scale, scores, scoreStride); break;
            case GgmlType.F32: Scores<F32Row>(lanes, queries, group, headDim, keys, count, scale, scores, scoreStride); break;
            default: throw new NotSupportedException($"Attention reads F16, Q8_0 or Q4_0 cache rows, not {keys.Type}.");
        }
    }

    private static void Scores<TRow>(int lanes, float* queries, int group, int headDim, KvRows keys, int count, float scale,
        float* scores, int scoreStride) where TRow : struct, IKvRow
    {
        if (lanes == 16) Scores16<TRow>(queries, group, headDim, keys, count, scale, scores, scoreStride);
        else if (lanes == 8) Scores8<TRow>(queries, group, headDim, keys, count, scale, scores, scoreStride);
        else ReferenceAttention.Scores(queries, group, headDim, keys, count, scale, scores, scoreStride, lanes);
    }

    /// <summary>
    /// scores[j·scoreStride + k] = scale · (query j · key k) for j &lt; queryCount, k &lt; count, over keys stored
    /// transposed ([headDim, keyStride] halves: value d of consecutive keys adjacent). Keys lie along the lanes, so each
    /// score is one FMA chain over d in order at every width and level: results do not depend on the level, on how
    /// many queries are scored together, or on where a key falls in a vector (the scalar twin is
    /// <see cref="ReferenceAttention.ScoresTransposed"/>).
    /// </summary>
    public static void ScoresTransposed(float* queries, int queryCount, int headDim, Half* keys, int keyStride, int count, float scale,
        float* scores, int scoreStride, bool finite, KernelLevel level)
    {
        int k = 0;
        byte* kt = (byte*)keys;
        long stride = 2L * keyStride;
        if (level == KernelLevel.Avx512)
            for (; k + 16 <= count; k += 16)
            {
                if (finite) ScoresT16<FiniteF16>(queries, queryCount, headDim, kt + 2 * k, stride, scale, scores + k, scoreStride);
                else ScoresT16<ExactF16>(queries, queryCount, headDim, kt + 2 * k, stride, scale, scores + k, scoreStride);
            }
        if (level >= KernelLevel.Avx2)
            for (; k + 8 <= count; k += 8)
            {
                if (finite) ScoresT8<FiniteF16>(queries, queryCount, headDim, kt + 2 * k, stride, scale, scores + k, scoreStride);
                else ScoresT8<ExactF16>(queries, queryCount, headDim, kt + 2 * k, stride, scale, scores + k, scoreStride);
            }
        if (k < count) ReferenceAttention.ScoresTransposed(queries, queryCount, headDim, keys + k, keyStride, count - k, scale, scores + k, scoreStride);
    }

    /// <summary>As above over keys already widened to floats ([headDim, keyStride]): the same bits as the half form
    /// of the same keys (the widening is exact), without widening them again for every eight queries.</summary>
    public static void ScoresTransposed(float* queries, int queryCount, int headDim, float* keys, int keyStride, int count, float scale,
        float* scores, int scoreStride, KernelLevel level)
    {
        int k = 0;
        byte* kt = (byte*)keys;
        long stride = 4L * keyStride;
        if (level == KernelLevel.Avx512)
            for (; k + 16 <= count; k += 16) ScoresT16<F32Row>(queries, queryCount, headDim, kt + 4 * k, stride, scale, scores + k, scoreStride);
        if (level >= KernelLevel.Avx2)
            for (; k + 8 <= count; k += 8) ScoresT8<F32Row>(queries, queryCount, headDim, kt + 4 * k, stride, scale, scores + k, scoreStride);
        if (k < count) ReferenceAttention.ScoresTransposed(queries, queryCount, headDim, keys + k, keyStride, count - k, scale, scores + k, scoreStride);
    }

    /// <summary>dst [headDim, count] = the transposed half keys ([headDim, keyStride]) as floats, Inf and NaN kept.</summary>
    public static void WidenTransposed(Half* keys, int keyStride, int headDim, int count, float* dst, KernelLevel level)
    {
        for (int d = 0; d < headDim; d++)
        {
            ushort* src = (ushort*)keys + (long)d * keyStride;
            float* o = dst + (long)d * count;
            int i = 0;
            if (level == KernelLevel.Avx512) for (; i + 16 <= count; i += 16) ExactF16.Load16((byte*)(src + i), 0).Store(o + i);
            if (level >= KernelLevel.Avx2) for (; i + 8 <= count; i += 8) ExactF16.Load8((byte*)(src + i), 0).Store(o + i);
            for (; i < count; i++) o[i] = HalfConvert.HalfToFloat(src[i]);
        }
    }

    /// <summary>dst [count, headDim] = each row's head slice (values element.. of each row) as floats, widened by the
    /// loaders the kernels use (so the floats are the ones the kernels would have formed).</summary>
    public static void WidenRows(KvRows rows, int count, int headDim, float* dst, KernelLevel level)
    {
        int lanes = Lanes(headDim, level);
        switch (rows.Type)
        {
            case GgmlType.F16: WidenRows<ExactF16>(rows, count, headDim, dst, lanes); break;
            case GgmlType.Q8_0: WidenRows<Q8_0Row>(rows, count, headDim, dst, lanes); break;
            case GgmlType.Q4_0: WidenRows<Q4_0Row>(rows, count, headDim, dst, lanes); break;
            case GgmlType.F32: WidenRows<F32Row>(rows, count, headDim, dst, lanes); break;
            default: throw new NotSupportedException($"Attention reads F16, Q8_0 or Q4_0 cache rows, not {rows.Type}.");
        }
    }

    private static void WidenRows<TRow>(KvRows rows, int count, int d, float* dst, int lanes) where TRow : struct, IKvRow
    {
        for (int k = 0; k < count; k++)
        {
            byte* row = rows.First + k * rows.RowBytes;
            float* o = dst + (long)k * d;
            if (lanes == 16) for (int c = 0; c < d; c += 16) TRow.Load16(row, rows.Element + c).Store(o + c);
            else if (lanes == 8) for (int c = 0; c < d; c += 8) TRow.Load8(row, rows.Element + c).Store(o + c);
            else for (int c = 0; c < d; c++) o[c] = ReferenceAttention.Element(rows.Type, row, rows.Element + c);
        }
    }

    /// <summary>16 keys: eight queries at a time (eight independent chains hide the FMA latency), then one at a time.</summary>
    private static void ScoresT16<TRow>(float* q, int nq, int d, byte* kt, long stride, float scale, float* scores, int scoreStride) where TRow : struct, IKvRow
    {
        int j = 0;
        for (; j + 8 <= nq; j += 8)
        {
            float* q0 = q + (long)j * d;
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            for (int c = 0; c < d; c++)
            {
                Vector512<float> kv = TRow.Load16(kt + c * stride, 0);
                float* qc = q0 + c;
                a0 = Vector512.FusedMultiplyAdd(Vector512.Create(qc[0]), kv, a0);
                a1 = Vector512.FusedMultiplyAdd(Vector512.Create(qc[d]), kv, a1);
                a2 = Vector512.FusedMultiplyAdd(Vector512.Create(qc[2 * d]), kv, a2);
                a3 = Vector512.FusedMultiplyAdd(Vector512.Create(qc[3 * d]), kv, a3);
                a4 = Vector512.FusedMultiplyAdd(Vector512.Create(qc[4 * d]), kv, a4);
                a5 = Vector512.FusedMultiplyAdd(Vector512.Create(qc[5 * d]), kv, a5);
                a6 = Vector512.FusedMultiplyAdd(Vector512.Create(qc[6 * d]), kv, a6);
                a7 = Vector512.FusedMultiplyAdd(Vector512.Create(qc[7 * d]), kv, a7);
            }
            float* s = scores + (long)j * scoreStride;
            (a0 * scale).Store(s); (a1 * scale).Store(s + scoreStride); (a2 * scale).Store(s + 2L * scoreStride); (a3 * scale).Store(s + 3L * scoreStride);
            (a4 * scale).Store(s + 4L * scoreStride); (a5 * scale).Store(s + 5L * scoreStride); (a6 * scale).Store(s + 6L * scoreStride); (a7 * scale).Store(s + 7L * scoreStride);
        }
        for (; j < nq; j++)
        {
            float* qj = q + (long)j * d;
            Vector512<float> a = default;
            for (int c = 0; c < d; c++) a = Vector512.FusedMultiplyAdd(Vector512.Create(qj[c]), TRow.Load16(kt + c * stride, 0), a);
            (a * scale).Store(scores + (long)j * scoreStride);
        }
    }

    private static void ScoresT8<TRow>(float* q, int nq, int d, byte* kt, long stride, float scale, float* scores, int scoreStride) where TRow : struct, IKvRow
    {
        int j = 0;
        for (; j + 8 <= nq; j += 8)
        {
            float* q0 = q + (long)j * d;
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            for (int c = 0; c < d; c++)
            {
                Vector256<float> kv = TRow.Load8(kt + c * stride, 0);
                float* qc = q0 + c;
                a0 = Vector256.FusedMultiplyAdd(Vector256.Create(qc[0]), kv, a0);
                a1 = Vector256.FusedMultiplyAdd(Vector256.Create(qc[d]), kv, a1);
                a2 = Vector256.FusedMultiplyAdd(Vector256.Create(qc[2 * d]), kv, a2);
                a3 = Vector256.FusedMultiplyAdd(Vector256.Create(qc[3 * d]), kv, a3);
                a4 = Vector256.FusedMultiplyAdd(Vector256.Create(qc[4 * d]), kv, a4);
                a5 = Vector256.FusedMultiplyAdd(Vector256.Create(qc[5 * d]), kv, a5);
                a6 = Vector256.FusedMultiplyAdd(Vector256.Create(qc[6 * d]), kv, a6);
                a7 = Vector256.FusedMultiplyAdd(Vector256.Create(qc[7 * d]), kv, a7);
            }
            float* s = scores + (long)j * scoreStride;
            (a0 * scale).Store(s); (a1 * scale).Store(s + scoreStride); (a2 * scale).Store(s + 2L * scoreStride); (a3 * scale).Store(s + 3L * scoreStride);
            (a4 * scale).Store(s + 4L * scoreStride); (a5 * scale).Store(s + 5L * scoreStride); (a6 * scale).Store(s + 6L * scoreStride); (a7 * scale).Store(s + 7L * scoreStride);
        }
        for (; j < nq; j++)
        {
            float* qj = q + (long)j * d;
            Vector256<float> a = default;
            for (int c = 0; c < d; c++) a = Vector256.FusedMultiplyAdd(Vector256.Create(qj[c]), TRow.Load8(kt + c * stride, 0), a);
            (a * scale).Store(scores + (long)j * scoreStride);
        }
    }

    /// <summary>In place over n scores: row = half(e^(row − max) / Σ e^(row − max)), the sum in double lanes.</summary>
    public static void SoftmaxToHalf(float* row, int n, KernelLevel level) => Softmax(row, n, toHalf: true, level);

    /// <summary>In place over n scores: row = e^(row − max) / Σ e^(row − max), the sum in double lanes; the probabilities
    /// are rounded to half when <paramref name="toHalf"/> (an F16 value cache multiplies them as halves, as llama.cpp
    /// does) and left in float for a quantized value cache.</summary>
    public static void Softmax(float* row, int n, bool toHalf, KernelLevel level)
    {
        if (level == KernelLevel.Avx512) Softmax16(row, n, toHalf);
        else if (level == KernelLevel.Avx2) Softmax8(row, n, toHalf);
        else ReferenceAttention.Softmax(row, n, 1, toHalf);
    }

    /// <summary>The lane count <see cref="SoftmaxToHalf"/> sums with at this level.</summary>
    public static int SoftmaxLanes(KernelLevel level) => level == KernelLevel.Avx512 ? 16 : level == KernelLevel.Avx2 ? 8 : 1;

    /// <summary>output[j] += Σ_k probs[j·probStride + k] · value k, key order, one FMA per (k, element).</summary>
    /// <param name="values">count rows of headDim halves, valueStride halves apart.</param>
    /// <param name="output">[group, outStride] floats.</param>
    /// <param name="finite">The caller knows every value half is finite (no Inf/NaN), so the short widening applies.</param>
    public static void AccumulateValues(float* probs, int group, int probStride, Half* values, int valueStride, int count,
        float* output, int outStride, int headDim, bool finite, KernelLevel level) =>
        AccumulateValues(probs, group, probStride, KvRows.Halves(values, valueStride), count, output, outStride, headDim, finite, level);

    /// <summary>As above over rows of any readable format (<see cref="CanRead"/>).</summary>
    public static void AccumulateValues(float* probs, int group, int probStride, KvRows values, int count,
        float* output, int outStride, int headDim, bool finite, KernelLevel level)
    {
        int lanes = Lanes(headDim, level);
        switch (values.Type)
        {
            case GgmlType.F16 when finite: Accumulate<FiniteF16>(lanes, probs, group, probStride, values, count, output, outStride, headDim); break;
            case GgmlType.F16: Accumulate<ExactF16>(lanes, probs, group, probStride, values, count, output, outStride, headDim); break;
            case GgmlType.Q8_0: Accumulate<Q8_0Row>(lanes, probs, group, probStride, values, count, output, outStride, headDim); break;
            case GgmlType.Q4_0: Accumulate<Q4_0Row>(lanes, probs, group, probStride, values, count, output, outStride, headDim); break;
            case GgmlType.F32: Accumulate<F32Row>(lanes, probs, group, probStride, values, count, output, outStride, headDim); break;
            default: throw new NotSupportedException($"Attention reads F16, Q8_0 or Q4_0 cache rows, not {values.Type}.");
        }
    }

    private static void Accumulate<TRow>(int lanes, float* probs, int group, int probStride, KvRows values, int count,
        float* output, int outStride, int headDim) where TRow : struct, IKvRow
    {
        if (lanes == 16) Accumulate16<TRow>(probs, group, probStride, values, count, output, outStride, headDim);
        else if (lanes == 8) Accumulate8<TRow>(probs, group, probStride, values, count, output, outStride, headDim);
        else ReferenceAttention.AccumulateValues(probs, group, probStride, values, count, output, outStride, headDim);
    }

    /// <summary>dst[i] = (float)(Half)src[i]: round to half precision and back (round to nearest even).</summary>
    public static void RoundToHalf(float* src, float* dst, int n, KernelLevel level)
    {
        int i = 0;
        if (level >= KernelLevel.Avx2)
            for (; i + 8 <= n; i += 8) Vector256.Store(HalfConvert.HalfToFloat8(HalfConvert.FloatToHalf8(Vector256.Load(src + i))), dst + i);
        for (; i < n; i++) dst[i] = (float)(Half)src[i];
    }

    /// <summary>16 or 8 consecutive values of a cache row as floats, starting at value <c>e</c> (a multiple of the lane
    /// count, so a chunk never straddles a 32-value block); chosen at compile time per call site.</summary>
    private interface IKvRow
    {
        static abstract Vector512<float> Load16(byte* row, int e);
        static abstract Vector256<float> Load8(byte* row, int e);
    }

    /// <summary>F16, every half (Inf and NaN included).</summary>
    private readonly struct ExactF16 : IKvRow
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Load16(byte* row, int e) => HalfConvert.HalfToFloat16(Vector256.Load((ushort*)row + e));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Load8(byte* row, int e) => HalfConvert.HalfToFloat8(Vector128.Load((ushort*)row + e));
    }

    /// <summary>F16, finite halves only, in three operations instead of ten.</summary>
    private readonly struct FiniteF16 : IKvRow
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Load16(byte* row, int e) => HalfConvert.FiniteHalfToFloat16(Vector256.Load((ushort*)row + e));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Load8(byte* row, int e) => HalfConvert.FiniteHalfToFloat8(Vector128.Load((ushort*)row + e));
    }

    /// <summary>F32: rows already widened (<see cref="WidenRows"/>).</summary>
    private readonly struct F32Row : IKvRow
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Load16(byte* row, int e) => Vector512.Load((float*)row + e);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Load8(byte* row, int e) => Vector256.Load((float*)row + e);
    }

    /// <summary>Q8_0: (float)q · d, q the block's signed bytes.</summary>
    private readonly struct Q8_0Row : IKvRow
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Load16(byte* row, int e)
        {
            byte* b = row + (e >> 5) * BlockLayout.Q8_0Bytes;
            Vector512<int> q = Avx512F.ConvertToVector512Int32(Vector128.Load((sbyte*)b + 2 + (e & 31)));
            return Vector512.ConvertToSingle(q) * HalfConvert.HalfToFloatLookup(*(ushort*)b);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Load8(byte* row, int e)
        {
            byte* b = row + (e >> 5) * BlockLayout.Q8_0Bytes;
            Vector256<int> q = Avx2.ConvertToVector256Int32((sbyte*)b + 2 + (e & 31));
            return Vector256.ConvertToSingle(q) * HalfConvert.HalfToFloatLookup(*(ushort*)b);
        }
    }

    /// <summary>Q4_0: (float)(nibble − 8) · d; values 0..15 of a block are the low nibbles of its 16 bytes, 16..31 the high.</summary>
    private readonly struct Q4_0Row : IKvRow
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Load16(byte* row, int e)
        {
            byte* b = row + (e >> 5) * BlockLayout.Q4_0Bytes;
            Vector128<byte> packed = Vector128.Load(b + 2);
            Vector128<byte> nibbles = (e & 16) == 0 ? packed & Vector128.Create((byte)0x0F) : Vector128.ShiftRightLogical(packed, 4);
            Vector512<int> q = Avx512F.ConvertToVector512Int32(nibbles) - Vector512.Create(8);
            return Vector512.ConvertToSingle(q) * HalfConvert.HalfToFloatLookup(*(ushort*)b);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Load8(byte* row, int e)
        {
            byte* b = row + (e >> 5) * BlockLayout.Q4_0Bytes;
            Vector256<int> packed = Avx2.ConvertToVector256Int32(b + 2 + (e & 15));
            Vector256<int> nibbles = (e & 16) == 0 ? packed & Vector256.Create(0x0F) : Vector256.ShiftRightLogical(packed, 4);
            return Vector256.ConvertToSingle(nibbles - Vector256.Create(8)) * HalfConvert.HalfToFloatLookup(*(ushort*)b);
        }
    }

    // --- scores ---

    private static void Scores16<TRow>(float* q, int group, int d, KvRows keys, int count, float scale, float* scores, int scoreStride) where TRow : struct, IKvRow
    {
        int j0 = 0;
        float* lane = stackalloc float[8];
        for (; j0 + 8 <= group; j0 += 8)
        {
            float* qb = q + j0 * d;
            for (int k = 0; k < count; k++)
            {
                byte* key = keys.First + k * keys.RowBytes;
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
                for (int c = 0; c < d; c += 16)
                {
                    Vector512<float> kv = TRow.Load16(key, keys.Element + c);
                    a0 = Vector512.FusedMultiplyAdd(Vector512.Load(qb + c), kv, a0);
                    a1 = Vector512.FusedMultiplyAdd(Vector512.Load(qb + d + c), kv, a1);
                    a2 = Vector512.FusedMultiplyAdd(Vector512.Load(qb + 2 * d + c), kv, a2);
                    a3 = Vector512.FusedMultiplyAdd(Vector512.Load(qb + 3 * d + c), kv, a3);
                    a4 = Vector512.FusedMultiplyAdd(Vector512.Load(qb + 4 * d + c), kv, a4);
                    a5 = Vector512.FusedMultiplyAdd(Vector512.Load(qb + 5 * d + c), kv, a5);
                    a6 = Vector512.FusedMultiplyAdd(Vector512.Load(qb + 6 * d + c), kv, a6);
                    a7 = Vector512.FusedMultiplyAdd(Vector512.Load(qb + 7 * d + c), kv, a7);
                }
                Vector256<float> s = Fold8(FoldHalves(a0), FoldHalves(a1), FoldHalves(a2), FoldHalves(a3), FoldHalves(a4), FoldHalves(a5), FoldHalves(a6), FoldHalves(a7)) * scale;
                Scatter8(s, lane, scores + (long)j0 * scoreStride + k, scoreStride);
            }
        }
        for (; j0 < group; j0++)
        {
            float* qj = q + j0 * d;
            for (int k = 0; k < count; k++)
            {
                byte* key = keys.First + k * keys.RowBytes;
                Vector512<float> a = default;
                for (int c = 0; c < d; c += 16) a = Vector512.FusedMultiplyAdd(Vector512.Load(qj + c), TRow.Load16(key, keys.Element + c), a);
                scores[(long)j0 * scoreStride + k] = Fold(FoldHalves(a)) * scale;
            }
        }
    }

    private static void Scores8<TRow>(float* q, int group, int d, KvRows keys, int count, float scale, float* scores, int scoreStride) where TRow : struct, IKvRow
    {
        int j0 = 0;
        float* lane = stackalloc float[8];
        for (; j0 + 8 <= group; j0 += 8)
        {
            float* qb = q + j0 * d;
            for (int k = 0; k < count; k++)
            {
                byte* key = keys.First + k * keys.RowBytes;
                Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
                for (int c = 0; c < d; c += 8)
                {
                    Vector256<float> kv = TRow.Load8(key, keys.Element + c);
                    a0 = Vector256.FusedMultiplyAdd(Vector256.Load(qb + c), kv, a0);
                    a1 = Vector256.FusedMultiplyAdd(Vector256.Load(qb + d + c), kv, a1);
                    a2 = Vector256.FusedMultiplyAdd(Vector256.Load(qb + 2 * d + c), kv, a2);
                    a3 = Vector256.FusedMultiplyAdd(Vector256.Load(qb + 3 * d + c), kv, a3);
                    a4 = Vector256.FusedMultiplyAdd(Vector256.Load(qb + 4 * d + c), kv, a4);
                    a5 = Vector256.FusedMultiplyAdd(Vector256.Load(qb + 5 * d + c), kv, a5);
                    a6 = Vector256.FusedMultiplyAdd(Vector256.Load(qb + 6 * d + c), kv, a6);
                    a7 = Vector256.FusedMultiplyAdd(Vector256.Load(qb + 7 * d + c), kv, a7);
                }
                Vector256<float> s = Fold8(a0, a1, a2, a3, a4, a5, a6, a7) * scale;
                Scatter8(s, lane, scores + (long)j0 * scoreStride + k, scoreStride);
            }
        }
        for (; j0 < group; j0++)
        {
            float* qj = q + j0 * d;
            for (int k = 0; k < count; k++)
            {
                byte* key = keys.First + k * keys.RowBytes;
                Vector256<float> a = default;
                for (int c = 0; c < d; c += 8) a = Vector256.FusedMultiplyAdd(Vector256.Load(qj + c), TRow.Load8(key, keys.Element + c), a);
                scores[(long)j0 * scoreStride + k] = Fold(a) * scale;
            }
        }
    }

    /// <summary>Lane i + lane i+8: a 16-lane accumulator folded to 8 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> FoldHalves(Vector512<float> a) => a.GetLower() + a.GetUpper();

    /// <summary>The rest of the halving fold for one 8-lane accumulator: (i, i+4), then (i, i+2), then (0, 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Fold(Vector256<float> a)
    {
        Vector128<float> b = a.GetLower() + a.GetUpper();
        return (b.GetElement(0) + b.GetElement(2)) + (b.GetElement(1) + b.GetElement(3));
    }

    /// <summary>
    /// Eight 8-lane accumulators folded at once, each in the order of <see cref="Fold(Vector256{float})"/>: the result
    /// holds the sums of accumulators 0, 2, 4, 6, 1, 3, 5, 7 in that lane order (see <see cref="Scatter8"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Fold8(Vector256<float> b0, Vector256<float> b1, Vector256<float> b2, Vector256<float> b3,
        Vector256<float> b4, Vector256<float> b5, Vector256<float> b6, Vector256<float> b7)
    {
        // (i, i+4): 128-bit lane 0 of cXY holds X's four partials, lane 1 Y's.
        Vector256<float> c01 = Vector256.Create(b0.GetLower(), b1.GetLower()) + Vector256.Create(b0.GetUpper(), b1.GetUpper());
        Vector256<float> c23 = Vector256.Create(b2.GetLower(), b3.GetLower()) + Vector256.Create(b2.GetUpper(), b3.GetUpper());
        Vector256<float> c45 = Vector256.Create(b4.GetLower(), b5.GetLower()) + Vector256.Create(b4.GetUpper(), b5.GetUpper());
        Vector256<float> c67 = Vector256.Create(b6.GetLower(), b7.GetLower()) + Vector256.Create(b6.GetUpper(), b7.GetUpper());
        // (i, i+2): per 128-bit lane [X0+X2, X1+X3, Z0+Z2, Z1+Z3].
        Vector256<float> e0 = Avx.Shuffle(c01, c23, 0x44) + Avx.Shuffle(c01, c23, 0xEE);
        Vector256<float> e1 = Avx.Shuffle(c45, c67, 0x44) + Avx.Shuffle(c45, c67, 0xEE);
        // (0, 1): the first element of each pair plus the second.
        return Avx.Shuffle(e0, e1, 0x88) + Avx.Shuffle(e0, e1, 0xDD);
    }

    /// <summary>Writes the <see cref="Fold8"/> lanes to dst[j·stride] for accumulators j = 0..7.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Scatter8(Vector256<float> s, float* lane, float* dst, int stride)
    {
        Vector256.Store(s, lane);
        dst[0] = lane[0]; dst[2L * stride] = lane[1]; dst[4L * stride] = lane[2]; dst[6L * stride] = lane[3];
        dst[stride] = lane[4]; dst[3L * stride] = lane[5]; dst[5L * stride] = lane[6]; dst[7L * stride] = lane[7];
    }

    // --- softmax ---

    private static void Softmax16(float* row, int n, bool toHalf)
    {
        int body = n - n % 16, i = 0;
        float max = float.NegativeInfinity;
        if (body > 0)
        {
            Vector512<float> m = Vector512.Create(float.NegativeInfinity);
            for (; i < body; i += 16) m = Vector512.MaxNative(m, Vector512.Load(row + i)); // NaN scores still end as NaN through the sum
            for (int l = 0; l < 16; l++) max = MathF.Max(max, m.GetElement(l));
        }
        for (; i < n; i++) max = MathF.Max(max, row[i]);

        Vector512<float> shift = Vector512.Create(max);
        Vector512<double> s0 = default, s1 = default;
        for (i = 0; i < body; i += 16)
        {
            Vector512<float> e = SoftmaxExp.Exp(Vector512.Load(row + i) - shift);
            e.Store(row + i);
            s0 += Vector512.WidenLower(e);
            s1 += Vector512.WidenUpper(e);
        }
        Vector512<double> s8 = s0 + s1;
        Vector256<double> s4 = s8.GetLower() + s8.GetUpper();
        Vector128<double> s2 = s4.GetLower() + s4.GetUpper();
        double sum = s2.GetElement(0) + s2.GetElement(1);
        for (; i < n; i++)
        {
            row[i] = SoftmaxExp.Exp(row[i] - max);
            sum += row[i];
        }
        Scale(row, n, (float)(1.0 / sum), wide: true, toHalf);
    }

    private static void Softmax8(float* row, int n, bool toHalf)
    {
        int body = n - n % 8, i = 0;
        float max = float.NegativeInfinity;
        if (body > 0)
        {
            Vector256<float> m = Vector256.Create(float.NegativeInfinity);
            for (; i < body; i += 8) m = Vector256.MaxNative(m, Vector256.Load(row + i));
            for (int l = 0; l < 8; l++) max = MathF.Max(max, m.GetElement(l));
        }
        for (; i < n; i++) max = MathF.Max(max, row[i]);

        Vector256<float> shift = Vector256.Create(max);
        Vector256<double> s0 = default, s1 = default;
        for (i = 0; i < body; i += 8)
        {
            Vector256<float> e = SoftmaxExp.Exp(Vector256.Load(row + i) - shift);
            e.Store(row + i);
            s0 += Vector256.WidenLower(e);
            s1 += Vector256.WidenUpper(e);
        }
        Vector256<double> s4 = s0 + s1;
        Vector128<double> s2 = s4.GetLower() + s4.GetUpper();
        double sum = s2.GetElement(0) + s2.GetElement(1);
        for (; i < n; i++)
        {
            row[i] = SoftmaxExp.Exp(row[i] - max);
            sum += row[i];
        }
        Scale(row, n, (float)(1.0 / sum), wide: false, toHalf);
    }

    private static void Scale(float* row, int n, float inv, bool wide, bool toHalf)
    {
        if (!toHalf)
        {
            // Lane-wise products: any vector width gives the scalar loop's values.
            int j = 0;
            Vector256<float> g = Vector256.Create(inv);
            for (; j + 8 <= n; j += 8) Vector256.Store(Vector256.Load(row + j) * g, row + j);
            for (; j < n; j++) row[j] *= inv;
            return;
        }
        int i = 0;
        if (wide)
        {
            Vector512<float> f = Vector512.Create(inv);
            for (; i + 16 <= n; i += 16) Vector512.Store(RoundProbabilityToHalf(Vector512.Load(row + i) * f), row + i);
        }
        Vector256<float> f8 = Vector256.Create(inv);
        for (; i + 8 <= n; i += 8) Vector256.Store(RoundProbabilityToHalf(Vector256.Load(row + i) * f8), row + i);
        for (; i < n; i++) row[i] = (float)(Half)(row[i] * inv);
    }

    /// <summary>
    /// (float)(Half)x for 0 ≤ x &lt; 65504 (a probability), without leaving fp32: from 2^-14 up, round the mantissa to
    /// 10 bits to nearest even on the integer bits; below, where halves are evenly spaced 2^-24 apart, adding and
    /// removing 0.5 (whose ulp is 2^-24) lets the FPU round to nearest even. Seven operations instead of twenty-five.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> RoundProbabilityToHalf(Vector512<float> x)
    {
        Vector512<uint> u = x.AsUInt32();
        Vector512<float> normal = ((u + Vector512.Create(0xFFFu) + ((u >> 13) & Vector512<uint>.One)) & Vector512.Create(0xFFFFE000u)).AsSingle();
        Vector512<float> tiny = (x + Vector512.Create(0.5f)) - Vector512.Create(0.5f);
        return Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512.Create(6.103515625e-05f)), tiny, normal);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> RoundProbabilityToHalf(Vector256<float> x)
    {
        Vector256<uint> u = x.AsUInt32();
        Vector256<float> normal = ((u + Vector256.Create(0xFFFu) + ((u >> 13) & Vector256<uint>.One)) & Vector256.Create(0xFFFFE000u)).AsSingle();
        Vector256<float> tiny = (x + Vector256.Create(0.5f)) - Vector256.Create(0.5f);
        return Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256.Create(6.103515625e-05f)), tiny, normal);
    }

    // --- values ---

    private static void Accumulate16<TRow>(float* p, int group, int probStride, KvRows values, int count, float* output, int outStride, int d) where TRow : struct, IKvRow
    {
        int j0 = 0;
        for (; j0 + 8 <= group; j0 += 8)
        {
            float* pb = p + (long)j0 * probStride;
            float* ob = output + (long)j0 * outStride;
            for (int c = 0; c < d; c += 16)
            {
                Vector512<float> a0 = Vector512.Load(ob + c), a1 = Vector512.Load(ob + outStride + c), a2 = Vector512.Load(ob + 2L * outStride + c),
                    a3 = Vector512.Load(ob + 3L * outStride + c), a4 = Vector512.Load(ob + 4L * outStride + c), a5 = Vector512.Load(ob + 5L * outStride + c),
                    a6 = Vector512.Load(ob + 6L * outStride + c), a7 = Vector512.Load(ob + 7L * outStride + c);
                byte* v = values.First;
                int e = values.Element + c;
                for (int k = 0; k < count; k++, v += values.RowBytes)
                {
                    Vector512<float> vv = TRow.Load16(v, e);
                    float* pk = pb + k;
                    a0 = Vector512.FusedMultiplyAdd(Vector512.Create(pk[0]), vv, a0);
                    a1 = Vector512.FusedMultiplyAdd(Vector512.Create(pk[probStride]), vv, a1);
                    a2 = Vector512.FusedMultiplyAdd(Vector512.Create(pk[2L * probStride]), vv, a2);
                    a3 = Vector512.FusedMultiplyAdd(Vector512.Create(pk[3L * probStride]), vv, a3);
                    a4 = Vector512.FusedMultiplyAdd(Vector512.Create(pk[4L * probStride]), vv, a4);
                    a5 = Vector512.FusedMultiplyAdd(Vector512.Create(pk[5L * probStride]), vv, a5);
                    a6 = Vector512.FusedMultiplyAdd(Vector512.Create(pk[6L * probStride]), vv, a6);
                    a7 = Vector512.FusedMultiplyAdd(Vector512.Create(pk[7L * probStride]), vv, a7);
                }
                a0.Store(ob + c); a1.Store(ob + outStride + c); a2.Store(ob + 2L * outStride + c); a3.Store(ob + 3L * outStride + c);
                a4.Store(ob + 4L * outStride + c); a5.Store(ob + 5L * outStride + c); a6.Store(ob + 6L * outStride + c); a7.Store(ob + 7L * outStride + c);
            }
        }
        for (; j0 < group; j0++)
        {
            float* pj = p + (long)j0 * probStride;
            float* oj = output + (long)j0 * outStride;
            for (int c = 0; c < d; c += 16)
            {
                Vector512<float> a = Vector512.Load(oj + c);
                byte* v = values.First;
                int e = values.Element + c;
                for (int k = 0; k < count; k++, v += values.RowBytes)
                    a = Vector512.FusedMultiplyAdd(Vector512.Create(pj[k]), TRow.Load16(v, e), a);
                a.Store(oj + c);
            }
        }
    }

    private static void Accumulate8<TRow>(float* p, int group, int probStride, KvRows values, int count, float* output, int outStride, int d) where TRow : struct, IKvRow
    {
        int j0 = 0;
        for (; j0 + 8 <= group; j0 += 8)
        {
            float* pb = p + (long)j0 * probStride;
            float* ob = output + (long)j0 * outStride;
            for (int c = 0; c < d; c += 8)
            {
                Vector256<float> a0 = Vector256.Load(ob + c), a1 = Vector256.Load(ob + outStride + c), a2 = Vector256.Load(ob + 2L * outStride + c),
                    a3 = Vector256.Load(ob + 3L * outStride + c), a4 = Vector256.Load(ob + 4L * outStride + c), a5 = Vector256.Load(ob + 5L * outStride + c),
                    a6 = Vector256.Load(ob + 6L * outStride + c), a7 = Vector256.Load(ob + 7L * outStride + c);
                byte* v = values.First;
                int e = values.Element + c;
                for (int k = 0; k < count; k++, v += values.RowBytes)
                {
                    Vector256<float> vv = TRow.Load8(v, e);
                    float* pk = pb + k;
                    a0 = Vector256.FusedMultiplyAdd(Vector256.Create(pk[0]), vv, a0);
                    a1 = Vector256.FusedMultiplyAdd(Vector256.Create(pk[probStride]), vv, a1);
                    a2 = Vector256.FusedMultiplyAdd(Vector256.Create(pk[2L * probStride]), vv, a2);
                    a3 = Vector256.FusedMultiplyAdd(Vector256.Create(pk[3L * probStride]), vv, a3);
                    a4 = Vector256.FusedMultiplyAdd(Vector256.Create(pk[4L * probStride]), vv, a4);
                    a5 = Vector256.FusedMultiplyAdd(Vector256.Create(pk[5L * probStride]), vv, a5);
                    a6 = Vector256.FusedMultiplyAdd(Vector256.Create(pk[6L * probStride]), vv, a6);
                    a7 = Vector256.FusedMultiplyAdd(Vector256.Create(pk[7L * probStride]), vv, a7);
                }
                a0.Store(ob + c); a1.Store(ob + outStride + c); a2.Store(ob + 2L * outStride + c); a3.Store(ob + 3L * outStride + c);
                a4.Store(ob + 4L * outStride + c); a5.Store(ob + 5L * outStride + c); a6.Store(ob + 6L * outStride + c); a7.Store(ob + 7L * outStride + c);
            }
        }
        for (; j0 < group; j0++)
        {
            float* pj = p + (long)j0 * probStride;
            float* oj = output + (long)j0 * outStride;
            for (int c = 0; c < d; c += 8)
            {
                Vector256<float> a = Vector256.Load(oj + c);
                byte* v = values.First;
                int e = values.Element + c;
                for (int k = 0; k < count; k++, v += values.RowBytes)
                    a = Vector256.FusedMultiplyAdd(Vector256.Create(pj[k]), TRow.Load8(v, e), a);
                a.Store(oj + c);
            }
        }
    }
}
