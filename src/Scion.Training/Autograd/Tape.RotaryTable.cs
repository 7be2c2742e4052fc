namespace Scion.Training.Autograd;

public sealed partial class Tape
{
    /// <summary>
    /// Rotary embedding with double-precision frequencies, a position scale and partial rotation, computing
    /// angles exactly as the inference model's <c>RotaryEmbedding.Apply</c> does (angle = (pos·positionScale)·invFreq
    /// in double, then cos/sin rounded to float), so training and inference rotate bit-identically.
    /// Only the first 2·invFreq.Length features of each head rotate (HalfSplit pairs (i, i + ropeDim/2),
    /// Interleaved pairs (2i, 2i+1)); the rest pass through. x [T, heads·headDim], positions [T] → same shape.
    /// </summary>
    public Tensor RopeExact(Tensor x, int[] positions, int headDim, ReadOnlySpan<double> inverseFrequencies, double positionScale, RopeStyle style)
    {
        int half = inverseFrequencies.Length;
        if (headDim <= 0 || x.Shape.Length != 2 || x.Shape[1] % headDim != 0 || half == 0 || 2 * half > headDim)
            throw new ArgumentException($"RopeExact: x must be [tokens, heads·{headDim}] and rotate at most {headDim} features; found {x} with {half} frequencies.");
        int tokens = x.Rows, width = x.Shape[1], heads = width / headDim;
        if (positions.Length != tokens) throw new ArgumentException($"RopeExact: {positions.Length} positions for {tokens} tokens.");
        var cos = new float[tokens * half]; // [T, half]
        var sin = new float[tokens * half]; // [T, half]
        for (int t = 0; t < tokens; t++)
        {
            double pos = positions[t] * positionScale;
            for (int i = 0; i < half; i++)
            {
                double angle = pos * inverseFrequencies[i];
                cos[t * half + i] = (float)Math.Cos(angle);
                sin[t * half + i] = (float)Math.Sin(angle);
            }
        }
        var y = NewTensor(tokens, width);
        x.Data.AsSpan().CopyTo(y.Data); // unrotated tail features
        RotatePartial(x.Data, y.Data, cos, sin, tokens, heads, headDim, half, style, inverse: false, accumulate: false);
        if (ShouldRecord(x))
            Record(y, 2L * cos.Length, () =>
            {
                var dy = y.Grad!;
                var dx = x.EnsureGrad();
                // Pass-through features: gradient copies; rotated ones: inverse rotation.
                for (int t = 0; t < tokens; t++)
                    for (int h = 0; h < heads; h++)
                    {
                        int b = t * width + h * headDim;
                        for (int i = 2 * half; i < headDim; i++) dx[b + i] += dy[b + i];
                    }
                RotatePartial(dy, dx, cos, sin, tokens, heads, headDim, half, style, inverse: true, accumulate: true);
            });
        return y;
    }

    private static void RotatePartial(float[] src, float[] dst, float[] cos, float[] sin, int tokens, int heads, int headDim, int half,
        RopeStyle style, bool inverse, bool accumulate)
    {
        int stride = style == RopeStyle.HalfSplit ? 1 : 2;
        int partner = style == RopeStyle.HalfSplit ? half : 1;
        for (int t = 0; t < tokens; t++)
            for (int h = 0; h < heads; h++)
            {
                int b = (t * heads + h) * headDim;
                for (int i = 0; i < half; i++)
                {
                    float c = cos[t * half + i], s = inverse ? -sin[t * half + i] : sin[t * half + i];
                    int i0 = b + i * stride, i1 = i0 + partner;
                    float x0 = src[i0], x1 = src[i1];
                    // Same expression shape as RotaryEmbedding.RotateHead (a·cos − b·sin, a·sin + b·cos).
                    float y0 = x0 * c - x1 * s, y1 = x0 * s + x1 * c;
                    if (accumulate) { dst[i0] += y0; dst[i1] += y1; }
                    else { dst[i0] = y0; dst[i1] = y1; }
                }
            }
    }
}
