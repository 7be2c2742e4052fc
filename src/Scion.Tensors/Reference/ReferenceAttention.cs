using Scion.Tensors.Quant;

namespace Scion.Tensors.Reference;

/// <summary>
/// Scalar twins of <see cref="Cpu.AttentionKernels"/>: the same operations in the same order, so the SIMD kernels
/// equal them bitwise. <c>lanes</c> is the vector width the kernel ran at (16, 8, or 1 for a plain sequential order):
/// a dot keeps one FMA chain per lane over the row and then folds the lanes in halves (lane i += lane i + w for
/// w = lanes/2, …, 1); a sum does the same with double lanes and adds the leftover tail in order.
/// </summary>
public static unsafe class ReferenceAttention
{
    /// <summary>Value <paramref name="e"/> of a cache row as a float: a half widened, or a quantized block's integer
    /// times its scale (the product the SIMD loaders form).</summary>
    public static float Element(GgmlType type, byte* row, int e)
    {
        switch (type)
        {
            case GgmlType.F16: return HalfConvert.HalfToFloat(((ushort*)row)[e]);
            case GgmlType.F32: return ((float*)row)[e];
            case GgmlType.Q8_0:
            {
                byte* b = row + (e >> 5) * BlockLayout.Q8_0Bytes;
                return (float)((sbyte*)b)[2 + (e & 31)] * HalfConvert.HalfToFloat(*(ushort*)b);
            }
            case GgmlType.Q4_0:
            {
                byte* b = row + (e >> 5) * BlockLayout.Q4_0Bytes;
                int o = e & 31;
                int nibble = o < 16 ? b[2 + o] & 0x0F : b[2 + o - 16] >> 4;
                return (float)(nibble - 8) * HalfConvert.HalfToFloat(*(ushort*)b);
            }
            default: throw new NotSupportedException($"Attention reads F16, Q8_0 or Q4_0 cache rows, not {type}.");
        }
    }

    /// <summary>scores[j·scoreStride + k] = scale · (query j · key k) for j &lt; group, k &lt; count.</summary>
    /// <param name="queries">[group, headDim].</param>
    /// <param name="keys">count rows of headDim halves, keyStride halves apart.</param>
    public static void Scores(float* queries, int group, int headDim, Half* keys, int keyStride, int count, float scale,
        float* scores, int scoreStride, int lanes) =>
        Scores(queries, group, headDim, KvRows.Halves(keys, keyStride), count, scale, scores, scoreStride, lanes);

    /// <summary>As above over rows of any format <see cref="Element"/> reads.</summary>
    public static void Scores(float* queries, int group, int headDim, KvRows keys, int count, float scale,
        float* scores, int scoreStride, int lanes)
    {
        Span<float> part = stackalloc float[lanes];
        for (int j = 0; j < group; j++)
        {
            float* q = queries + j * headDim;
            for (int k = 0; k < count; k++)
            {
                byte* key = keys.First + k * keys.RowBytes;
                part.Clear();
                for (int i = 0; i < headDim; i++) part[i % lanes] = MathF.FusedMultiplyAdd(q[i], Element(keys.Type, key, keys.Element + i), part[i % lanes]);
                for (int w = lanes / 2; w >= 1; w /= 2)
                    for (int l = 0; l < w; l++) part[l] += part[l + w];
                scores[(long)j * scoreStride + k] = part[0] * scale;
            }
        }
    }

    /// <summary>scores[j·scoreStride + k] = scale · Σ_d q_j[d]·keys[d·keyStride + k] over keys stored transposed (value d
    /// of every key adjacent): one FMA chain per score over d in order, as each lane of the SIMD kernel runs it.</summary>
    /// <param name="queries">[count of queries, headDim].</param>
    /// <param name="keys">[headDim, keyStride] halves; keys 0..count-1 of each line are read.</param>
    public static void ScoresTransposed(float* queries, int queryCount, int headDim, Half* keys, int keyStride, int count, float scale,
        float* scores, int scoreStride) =>
        ScoresTransposed(queries, queryCount, headDim, GgmlType.F16, (byte*)keys, 2L * keyStride, count, scale, scores, scoreStride);

    /// <summary>As above over transposed keys already widened to floats.</summary>
    public static void ScoresTransposed(float* queries, int queryCount, int headDim, float* keys, int keyStride, int count, float scale,
        float* scores, int scoreStride) =>
        ScoresTransposed(queries, queryCount, headDim, GgmlType.F32, (byte*)keys, 4L * keyStride, count, scale, scores, scoreStride);

    private static void ScoresTransposed(float* queries, int queryCount, int headDim, GgmlType type, byte* keys, long lineBytes, int count,
        float scale, float* scores, int scoreStride)
    {
        for (int j = 0; j < queryCount; j++)
            for (int k = 0; k < count; k++)
            {
                float* q = queries + (long)j * headDim;
                float acc = 0;
                for (int d = 0; d < headDim; d++) acc = MathF.FusedMultiplyAdd(q[d], Element(type, keys + d * lineBytes, k), acc);
                scores[(long)j * scoreStride + k] = acc * scale;
            }
    }

    /// <summary>In place: row = half(e^(row − max) / Σ e^(row − max)), the sum in double.</summary>
    public static void SoftmaxToHalf(float* row, int n, int lanes) => Softmax(row, n, lanes, toHalf: true);

    /// <summary>In place: row = e^(row − max) / Σ e^(row − max), the sum in double, rounded to half when asked.</summary>
    public static void Softmax(float* row, int n, int lanes, bool toHalf)
    {
        float max = float.NegativeInfinity;
        for (int i = 0; i < n; i++) max = MathF.Max(max, row[i]);
        Span<double> part = stackalloc double[lanes];
        part.Clear();
        int body = n - n % lanes;
        for (int i = 0; i < n; i++)
        {
            row[i] = Cpu.SoftmaxExp.Exp(row[i] - max);
            if (i < body) part[i % lanes] += row[i];
        }
        for (int w = lanes / 2; w >= 1; w /= 2)
            for (int l = 0; l < w; l++) part[l] += part[l + w];
        double sum = part[0];
        for (int i = body; i < n; i++) sum += row[i];
        float inv = (float)(1.0 / sum);
        for (int i = 0; i < n; i++) row[i] = toHalf ? (float)(Half)(row[i] * inv) : row[i] * inv;
    }

    /// <summary>output[j] += Σ_k probs[j·probStride + k] · value k, one FMA per (k, element) in key order.</summary>
    /// <param name="values">count rows of headDim halves, valueStride halves apart.</param>
    /// <param name="output">[group, outStride] floats; the first headDim of each row are accumulated.</param>
    public static void AccumulateValues(float* probs, int group, int probStride, Half* values, int valueStride, int count,
        float* output, int outStride, int headDim) =>
        AccumulateValues(probs, group, probStride, KvRows.Halves(values, valueStride), count, output, outStride, headDim);

    /// <summary>As above over rows of any format <see cref="Element"/> reads.</summary>
    public static void AccumulateValues(float* probs, int group, int probStride, KvRows values, int count,
        float* output, int outStride, int headDim)
    {
        for (int j = 0; j < group; j++)
        {
            float* o = output + (long)j * outStride;
            for (int k = 0; k < count; k++)
            {
                float p = probs[(long)j * probStride + k];
                byte* v = values.First + k * values.RowBytes;
                for (int i = 0; i < headDim; i++) o[i] = MathF.FusedMultiplyAdd(p, Element(values.Type, v, values.Element + i), o[i]);
            }
        }
    }
}
