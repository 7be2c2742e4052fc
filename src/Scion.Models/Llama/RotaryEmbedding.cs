namespace Scion.Models.Llama;

/// <summary>Rotary position embedding: the per-pair frequencies (with any scaling) and the rotation itself.</summary>
public sealed class RotaryEmbedding
{
    private readonly double[] _invFreq; // [RopeDim/2]
    private readonly double _positionScale;
    public int HeadDim { get; }
    public int RopeDim { get; }
    public RopeStyle Style { get; }

    /// <summary>Per-pair inverse frequencies after any scaling, so a training forward can rotate bit-identically. [RopeDim/2]</summary>
    public ReadOnlySpan<double> InverseFrequencies => _invFreq;

    /// <summary>Factor on positions before the rotation (linear scaling), 1 otherwise.</summary>
    public double PositionScale => _positionScale;

    public RotaryEmbedding(LlamaConfig c, float[]? freqFactors = null)
    {
        HeadDim = c.HeadDim;
        RopeDim = c.RopeDim;
        Style = c.RopeStyle;
        int half = RopeDim / 2;
        _invFreq = new double[half];
        for (int i = 0; i < half; i++) _invFreq[i] = Math.Pow(c.RopeTheta, -2.0 * i / RopeDim);
        _positionScale = 1.0;
        if (freqFactors is not null)
        {
            for (int i = 0; i < half; i++) _invFreq[i] /= freqFactors[i];
        }
        else if (c.RopeScaling is { } s)
        {
            switch (s.Type)
            {
                case "linear":
                    _positionScale = 1.0 / s.Factor;
                    break;
                case "llama3":
                    ApplyLlama3(_invFreq, s);
                    break;
                default:
                    throw new NotSupportedException($"RoPE scaling type '{s.Type}' is not supported (supported: linear, llama3).");
            }
        }
    }

    /// <summary>Llama 3.1's smooth interpolation between unscaled high frequencies and factor-scaled low frequencies.</summary>
    public static void ApplyLlama3(double[] invFreq, RopeScaling s)
    {
        double lowWavelen = s.OriginalContext / s.LowFreqFactor;
        double highWavelen = s.OriginalContext / s.HighFreqFactor;
        for (int i = 0; i < invFreq.Length; i++)
        {
            double wavelen = 2 * Math.PI / invFreq[i];
            if (wavelen < highWavelen) continue;
            if (wavelen > lowWavelen) { invFreq[i] /= s.Factor; continue; }
            double smooth = (s.OriginalContext / wavelen - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
            invFreq[i] = (1 - smooth) * invFreq[i] / s.Factor + smooth * invFreq[i];
        }
    }

    /// <summary>Per-pair divisors equivalent to llama3 scaling, as llama.cpp stores them in rope_freqs.</summary>
    public static float[] Llama3FreqFactors(LlamaConfig c, RopeScaling s)
    {
        int half = c.RopeDim / 2;
        var baseFreq = new double[half];
        for (int i = 0; i < half; i++) baseFreq[i] = Math.Pow(c.RopeTheta, -2.0 * i / c.RopeDim);
        var scaled = (double[])baseFreq.Clone();
        ApplyLlama3(scaled, s);
        return baseFreq.Select((f, i) => (float)(f / scaled[i])).ToArray();
    }

    /// <summary>Rotates every head of each row in place. x: [tokens, heads*HeadDim]; positions: [tokens].</summary>
    public void Apply(Span<float> x, int heads, ReadOnlySpan<int> positions)
    {
        int half = RopeDim / 2;
        Span<float> cos = stackalloc float[half];
        Span<float> sin = stackalloc float[half];
        int rowLen = heads * HeadDim;
        for (int t = 0; t < positions.Length; t++)
        {
            Angles(positions[t], cos, sin);
            var row = x.Slice(t * rowLen, rowLen);
            for (int h = 0; h < heads; h++) RotateHead(row.Slice(h * HeadDim, HeadDim), cos, sin, Style);
        }
    }

    /// <summary>Rotates one row's query heads and key heads at one position: the angles are computed once for both,
    /// the same values <see cref="Apply"/> rotates them with. q: [qHeads*HeadDim]; k: [kHeads*HeadDim].</summary>
    public void ApplyRow(Span<float> q, int qHeads, Span<float> k, int kHeads, int position)
    {
        int half = RopeDim / 2;
        Span<float> cos = stackalloc float[half];
        Span<float> sin = stackalloc float[half];
        Angles(position, cos, sin);
        for (int h = 0; h < qHeads; h++) RotateHead(q.Slice(h * HeadDim, HeadDim), cos, sin, Style);
        for (int h = 0; h < kHeads; h++) RotateHead(k.Slice(h * HeadDim, HeadDim), cos, sin, Style);
    }

    /// <summary>cos and sin of every pair's angle at a position, computed in double and rounded to float.</summary>
    private void Angles(int position, Span<float> cos, Span<float> sin)
    {
        double pos = position * _positionScale;
        for (int i = 0; i < cos.Length; i++)
        {
            double angle = pos * _invFreq[i];
            cos[i] = (float)Math.Cos(angle);
            sin[i] = (float)Math.Sin(angle);
        }
    }

    public static void RotateHead(Span<float> head, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin, RopeStyle style)
    {
        int half = cos.Length;
        if (style == RopeStyle.Interleaved)
        {
            for (int i = 0; i < half; i++)
            {
                float a = head[2 * i], b = head[2 * i + 1];
                head[2 * i] = a * cos[i] - b * sin[i];
                head[2 * i + 1] = a * sin[i] + b * cos[i];
            }
        }
        else
        {
            for (int i = 0; i < half; i++)
            {
                float a = head[i], b = head[i + half];
                head[i] = a * cos[i] - b * sin[i];
                head[i + half] = a * sin[i] + b * cos[i];
            }
        }
    }
}
