using Scion.Models.KvCache;
using Scion.Tensors;

namespace Scion.Models.Llama;

/// <summary>
/// Causal attention of each batch row over its own sequence's cached keys and values, read through the block table.
/// Scores are kept per (row, head) as one vector of context length, never as a [T, T] matrix.
/// Numerics follow an F16 KV cache as llama.cpp runs it: keys, values, the query and the softmax probabilities are
/// rounded to half before their dot products, which is what its golden outputs reflect.
/// </summary>
internal static class PagedAttention
{
    /// <param name="q">[T, H*Dh] rotated queries.</param>
    /// <param name="output">[T, H*Dh].</param>
    public static void Run(ReadOnlySpan<float> q, Span<float> output, int rows, ReadOnlySpan<int> positions,
        KvBlockTable[] tables, PagedKvCache cache, int layer, int heads, int kvHeads, int headDim, float[] scores)
    {
        float[] keys = cache.Keys(layer), values = cache.Values(layer);
        int group = heads / kvHeads;
        float scale = 1f / MathF.Sqrt(headDim);
        int qDim = heads * headDim;
        Span<float> qh = stackalloc float[headDim];
        for (int t = 0; t < rows; t++)
        {
            var table = tables[t];
            int length = positions[t] + 1;
            var s = scores.AsSpan(0, length); // [positions 0..p]
            for (int h = 0; h < heads; h++)
            {
                for (int i = 0; i < headDim; i++) qh[i] = (float)(Half)q[t * qDim + h * headDim + i];
                int kvOffset = h / group * headDim;
                float max = float.NegativeInfinity;
                for (int p = 0; p < length; p++)
                {
                    s[p] = Ops.Dot(qh, keys.AsSpan(cache.Offset(table, p) + kvOffset, headDim)) * scale;
                    max = MathF.Max(max, s[p]);
                }
                double sum = 0;
                for (int p = 0; p < length; p++)
                {
                    s[p] = MathF.Exp(s[p] - max);
                    sum += s[p];
                }
                float inv = (float)(1.0 / sum);
                var acc = output.Slice(t * qDim + h * headDim, headDim);
                acc.Clear();
                for (int p = 0; p < length; p++)
                    Ops.Axpy((float)(Half)(s[p] * inv), values.AsSpan(cache.Offset(table, p) + kvOffset, headDim), acc);
            }
        }
    }
}
