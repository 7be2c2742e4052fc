namespace Scion.Training.Autograd;

/// <summary>Which pairs of a head's dimensions rotary embedding rotates together.</summary>
public enum RopeStyle
{
    /// <summary>Hugging Face / GPT-NeoX: (i, i + headDim/2).</summary>
    HalfSplit,

    /// <summary>GGUF llama (original Meta layout): (2i, 2i + 1).</summary>
    Interleaved,
}

public sealed partial class Tape
{
    /// <summary>
    /// Rotary position embedding with frequencies theta^(−2i/headDim).
    /// x [T, heads·headDim], positions [T] → [T, heads·headDim].
    /// </summary>
    public Tensor Rope(Tensor x, int[] positions, int headDim, float theta, RopeStyle style) =>
        Rope(x, positions, headDim, RopeInverseFrequencies(headDim, theta), style);

    /// <summary>theta^(−2i/headDim) for i in [0, headDim/2), computed in double. [headDim/2].</summary>
    public static float[] RopeInverseFrequencies(int headDim, float theta)
    {
        var f = new float[headDim / 2];
        for (int i = 0; i < f.Length; i++) f[i] = (float)Math.Pow(theta, -2.0 * i / headDim);
        return f;
    }

    /// <summary>
    /// Rotary position embedding with given inverse frequencies (Llama-3-style scaled ones, say).
    /// Backward applies the inverse rotation. x [T, heads·headDim], positions [T], inverseFrequencies [headDim/2].
    /// </summary>
    public Tensor Rope(Tensor x, int[] positions, int headDim, float[] inverseFrequencies, RopeStyle style)
    {
        if (headDim <= 0 || headDim % 2 != 0 || x.Shape.Length != 2 || x.Shape[1] % headDim != 0)
            throw new ArgumentException($"Rope: x must be [tokens, heads·{headDim}] with an even head size, found {x}.");
        int tokens = x.Rows, half = headDim / 2, width = x.Shape[1], heads = width / headDim;
        if (positions.Length != tokens) throw new ArgumentException($"Rope: {positions.Length} positions for {tokens} tokens.");
        if (inverseFrequencies.Length != half) throw new ArgumentException($"Rope: {inverseFrequencies.Length} frequencies for head size {headDim}.");

        var cos = new float[tokens * half]; // [T, half]
        var sin = new float[tokens * half]; // [T, half]
        for (int t = 0; t < tokens; t++)
            for (int i = 0; i < half; i++)
            {
                double angle = (double)positions[t] * inverseFrequencies[i];
                cos[t * half + i] = (float)Math.Cos(angle);
                sin[t * half + i] = (float)Math.Sin(angle);
            }

        var y = NewTensor(tokens, width);
        Rotate(x.Data, y.Data, cos, sin, tokens, heads, headDim, style, inverse: false, accumulate: false);
        if (ShouldRecord(x))
            Record(y, 2L * cos.Length, () =>
                Rotate(y.Grad!, x.EnsureGrad(), cos, sin, tokens, heads, headDim, style, inverse: true, accumulate: true));
        return y;
    }

    private static void Rotate(float[] src, float[] dst, float[] cos, float[] sin, int tokens, int heads, int headDim, RopeStyle style, bool inverse, bool accumulate)
    {
        int half = headDim / 2;
        int stride = style == RopeStyle.HalfSplit ? 1 : 2;  // step between pair starts
        int partner = style == RopeStyle.HalfSplit ? half : 1; // offset of a pair's second element
        for (int t = 0; t < tokens; t++)
            for (int h = 0; h < heads; h++)
            {
                int b = t * heads * headDim + h * headDim;
                for (int i = 0; i < half; i++)
                {
                    float c = cos[t * half + i], s = inverse ? -sin[t * half + i] : sin[t * half + i];
                    int i0 = b + i * stride, i1 = i0 + partner;
                    float x0 = src[i0], x1 = src[i1];
                    float y0 = x0 * c - x1 * s, y1 = x0 * s + x1 * c;
                    if (accumulate)
                    {
                        dst[i0] += y0;
                        dst[i1] += y1;
                    }
                    else
                    {
                        dst[i0] = y0;
                        dst[i1] = y1;
                    }
                }
            }
    }
}
