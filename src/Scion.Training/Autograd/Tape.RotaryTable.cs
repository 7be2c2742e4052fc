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
        var (cos, sin) = RotaryTable(positions, inverseFrequencies, positionScale); // [T, half] each
        var y = NewTensor(tokens, width);
        var forward = new RotateJob { Src = x.Data, Dst = y.Data, Cos = cos, Sin = sin, Tokens = tokens, Heads = heads, HeadDim = headDim, Half = half, Style = style };
        RunRows(ref forward, tokens, width);
        if (ShouldRecord(x))
            Record(y, 2L * cos.Length, () =>
            {
                var backward = new RotateJob
                {
                    Src = y.Grad!, Dst = x.EnsureGrad(), Cos = cos, Sin = sin, Tokens = tokens, Heads = heads, HeadDim = headDim, Half = half,
                    Style = style, Inverse = true,
                };
                RunRows(ref backward, tokens, width);
            });
        return y;
    }

    // The last table: q and k of every layer rotate by the same positions, so one forward computes it once.
    private int[]? _ropePositions;
    private double[]? _ropeFrequencies;
    private double _ropeScale;
    private (float[] Cos, float[] Sin) _ropeTable;

    /// <summary>cos and sin of (pos·positionScale)·invFreq in double, rounded to float; [T, half] each. Reused while
    /// positions, frequencies and scale are unchanged (compared by value).</summary>
    private (float[] Cos, float[] Sin) RotaryTable(int[] positions, ReadOnlySpan<double> inverseFrequencies, double positionScale)
    {
        if (_ropePositions is not null && _ropeScale.Equals(positionScale) && positions.AsSpan().SequenceEqual(_ropePositions)
            && inverseFrequencies.SequenceEqual(_ropeFrequencies))
            return _ropeTable;
        int tokens = positions.Length, half = inverseFrequencies.Length;
        var cos = new float[tokens * half];
        var sin = new float[tokens * half];
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
        _ropePositions = (int[])positions.Clone();
        _ropeFrequencies = inverseFrequencies.ToArray();
        _ropeScale = positionScale;
        return _ropeTable = (cos, sin);
    }

    /// <summary>Forward: Dst = rotate(Src) with the unrotated tail copied; backward (Inverse): Dst += rotate⁻¹(Src) with
    /// the tail's gradient added. Rows of tokens per item; each element is computed alone.</summary>
    private struct RotateJob : Scion.Tensors.IParallelJob
    {
        public float[] Src, Dst, Cos, Sin;
        public int Tokens, Heads, HeadDim, Half;
        public RopeStyle Style;
        public bool Inverse;

        public readonly void Execute(int chunk)
        {
            int t0 = chunk * RowChunk, t1 = Math.Min(Tokens, t0 + RowChunk), width = Heads * HeadDim;
            for (int t = t0; t < t1; t++)
                for (int h = 0; h < Heads; h++)
                {
                    int b = t * width + h * HeadDim;
                    for (int i = 2 * Half; i < HeadDim; i++)
                    {
                        if (Inverse) Dst[b + i] += Src[b + i];
                        else Dst[b + i] = Src[b + i];
                    }
                }
            RotatePartial(Src, Dst, Cos, Sin, t0, t1, Heads, HeadDim, Half, Style, Inverse, accumulate: Inverse);
        }
    }

    private static void RotatePartial(float[] src, float[] dst, float[] cos, float[] sin, int t0, int t1, int heads, int headDim, int half,
        RopeStyle style, bool inverse, bool accumulate)
    {
        int stride = style == RopeStyle.HalfSplit ? 1 : 2;
        int partner = style == RopeStyle.HalfSplit ? half : 1;
        for (int t = t0; t < t1; t++)
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
