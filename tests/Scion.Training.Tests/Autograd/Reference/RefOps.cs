namespace Scion.Training.Tests.Autograd.Reference;

/// <summary>
/// Double-precision forward twins of the tape's ops, written as plain loops straight from the
/// formulas, independently of the fp32 code. Finite differences run on these, so the gradient
/// checks can hold the fp32 analytic gradients to tight tolerances. Arrays are row-major.
/// </summary>
internal static class RefOps
{
    public static double[] ToDouble(float[] x) => Array.ConvertAll(x, v => (double)v);

    /// <summary>x [T, in], w [out, in] → [T, out] = x wᵀ.</summary>
    public static double[] Linear(double[] x, double[] w, int tokens, int inF, int outF)
    {
        var y = new double[tokens * outF];
        for (int t = 0; t < tokens; t++)
            for (int o = 0; o < outF; o++)
            {
                double s = 0;
                for (int i = 0; i < inF; i++) s += x[t * inF + i] * w[o * inF + i];
                y[t * outF + o] = s;
            }
        return y;
    }

    /// <summary>a [M, K], b [K, N] → [M, N].</summary>
    public static double[] MatMul(double[] a, double[] b, int m, int k, int n)
    {
        var y = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int l = 0; l < k; l++) s += a[i * k + l] * b[l * n + j];
                y[i * n + j] = s;
            }
        return y;
    }

    /// <summary>Inverted dropout with a fixed keep mask [same as x].</summary>
    public static double[] Dropout(double[] x, bool[]? keep, double p)
    {
        if (keep is null) return x;
        var y = new double[x.Length];
        for (int i = 0; i < x.Length; i++) y[i] = keep[i] ? x[i] / (1 - p) : 0;
        return y;
    }

    /// <summary>The masks the tape draws: one NextFloat per element, kept when ≥ p.</summary>
    public static bool[] DropoutMask(Scion.Tensors.Xoshiro256 rng, int count, float p)
    {
        var keep = new bool[count];
        for (int i = 0; i < count; i++) keep[i] = rng.NextFloat() >= p;
        return keep;
    }

    /// <summary>scale · (xd aᵀ) bᵀ. x [T, in], a [r, in], b [out, r] → [T, out].</summary>
    public static double[] Lora(double[] x, double[] a, double[] b, int tokens, int inF, int rank, int outF, double scale, bool[]? keep = null, double p = 0)
    {
        var h = Linear(Dropout(x, keep, p), a, tokens, inF, rank);
        var y = Linear(h, b, tokens, rank, outF);
        for (int i = 0; i < y.Length; i++) y[i] *= scale;
        return y;
    }

    /// <summary>x wᵀ + lora. w [out, in].</summary>
    public static double[] LoraLinear(double[] x, double[] w, double[] a, double[] b, int tokens, int inF, int rank, int outF, double scale, bool[]? keep = null, double p = 0)
    {
        var y = Linear(x, w, tokens, inF, outF);
        var l = Lora(x, a, b, tokens, inF, rank, outF, scale, keep, p);
        for (int i = 0; i < y.Length; i++) y[i] += l[i];
        return y;
    }

    /// <summary>‖w + scale·b a‖ per output row. [out]</summary>
    public static double[] DoraNorms(double[] w, double[] a, double[] b, int inF, int rank, int outF, double scale)
    {
        var n = new double[outF];
        for (int o = 0; o < outF; o++)
        {
            double s = 0;
            for (int i = 0; i < inF; i++)
            {
                double v = w[o * inF + i];
                for (int k = 0; k < rank; k++) v += scale * b[o * rank + k] * a[k * inF + i];
                s += v * v;
            }
            n[o] = Math.Sqrt(s);
        }
        return n;
    }

    /// <summary>PEFT DoRA with the weight norm given (a constant): base + (s−1)·(xd wᵀ) + s·lora(xd), s = m / norms.</summary>
    public static double[] Dora(double[] x, double[] w, double[] a, double[] b, double[] m, double[] norms, int tokens, int inF, int rank, int outF, double scale, bool[]? keep = null, double p = 0)
    {
        var xd = Dropout(x, keep, p);
        var baseOut = Linear(x, w, tokens, inF, outF);
        var baseDropped = Linear(xd, w, tokens, inF, outF);
        var lora = Lora(xd, a, b, tokens, inF, rank, outF, scale);
        var y = new double[tokens * outF];
        for (int t = 0; t < tokens; t++)
            for (int o = 0; o < outF; o++)
            {
                int i = t * outF + o;
                double s = m[o] / norms[o];
                y[i] = baseOut[i] + (s - 1) * baseDropped[i] + s * lora[i];
            }
        return y;
    }

    /// <summary>x [T, D], w [D] → [T, D].</summary>
    public static double[] RmsNorm(double[] x, double[] w, int dim, double eps)
    {
        var y = new double[x.Length];
        for (int t = 0; t < x.Length / dim; t++)
        {
            double ss = 0;
            for (int i = 0; i < dim; i++) ss += x[t * dim + i] * x[t * dim + i];
            double r = 1 / Math.Sqrt(ss / dim + eps);
            for (int i = 0; i < dim; i++) y[t * dim + i] = x[t * dim + i] * r * w[i];
        }
        return y;
    }

    /// <summary>x [T, heads·headDim] rotated per head; halfSplit pairs (i, i+half), else (2i, 2i+1).</summary>
    public static double[] Rope(double[] x, int[] positions, int headDim, double theta, bool halfSplit)
    {
        int tokens = positions.Length, width = x.Length / tokens, half = headDim / 2;
        var y = (double[])x.Clone();
        for (int t = 0; t < tokens; t++)
            for (int h = 0; h < width / headDim; h++)
                for (int i = 0; i < half; i++)
                {
                    double angle = positions[t] * Math.Pow(theta, -2.0 * i / headDim);
                    int i0 = t * width + h * headDim + (halfSplit ? i : 2 * i);
                    int i1 = i0 + (halfSplit ? half : 1);
                    double c = Math.Cos(angle), s = Math.Sin(angle);
                    y[i0] = x[i0] * c - x[i1] * s;
                    y[i1] = x[i0] * s + x[i1] * c;
                }
        return y;
    }

    /// <summary>Causal GQA attention over packed sequences by direct softmax. q [T, H·Dh], k/v [T, Hkv·Dh] → [T, H·Dh].</summary>
    public static double[] Attention(double[] q, double[] k, double[] v, int[] seqIds, int heads, int kvHeads)
    {
        int tokens = seqIds.Length, dh = q.Length / tokens / heads, qw = heads * dh, kw = kvHeads * dh;
        var y = new double[q.Length];
        for (int t = 0; t < tokens; t++)
            for (int h = 0; h < heads; h++)
            {
                int g = h / (heads / kvHeads);
                var allowed = Enumerable.Range(0, t + 1).Where(s => seqIds[s] == seqIds[t]).ToArray();
                var sc = new double[allowed.Length];
                for (int j = 0; j < allowed.Length; j++)
                {
                    double d = 0;
                    for (int i = 0; i < dh; i++) d += q[t * qw + h * dh + i] * k[allowed[j] * kw + g * dh + i];
                    sc[j] = d / Math.Sqrt(dh);
                }
                double max = sc.Max(), sum = sc.Sum(z => Math.Exp(z - max));
                for (int j = 0; j < allowed.Length; j++)
                {
                    double pj = Math.Exp(sc[j] - max) / sum;
                    for (int i = 0; i < dh; i++) y[t * qw + h * dh + i] += pj * v[allowed[j] * kw + g * dh + i];
                }
            }
        return y;
    }

    public static double[] SwiGlu(double[] gate, double[] up)
    {
        var y = new double[gate.Length];
        for (int i = 0; i < y.Length; i++) y[i] = gate[i] / (1 + Math.Exp(-gate[i])) * up[i];
        return y;
    }

    public static double[] Add(double[] a, double[] b) => a.Zip(b, (x, y) => x + y).ToArray();

    public static double[] Mul(double[] a, double[] b) => a.Zip(b, (x, y) => x * y).ToArray();

    /// <summary>ids [T], table [V, D] → [T, D].</summary>
    public static double[] Embedding(int[] ids, double[] table, int dim)
    {
        var y = new double[ids.Length * dim];
        for (int t = 0; t < ids.Length; t++) Array.Copy(table, ids[t] * dim, y, t * dim, dim);
        return y;
    }

    /// <summary>Mean −log softmax at the target over rows whose target is not −100. logits [T, V].</summary>
    public static double CrossEntropy(double[] logits, int[] targets)
    {
        int vocab = logits.Length / targets.Length, n = 0;
        double total = 0;
        for (int t = 0; t < targets.Length; t++)
        {
            if (targets[t] == -100) continue;
            var row = logits.AsSpan(t * vocab, vocab);
            double max = double.NegativeInfinity;
            foreach (var z in row) max = Math.Max(max, z);
            double sum = 0;
            foreach (var z in row) sum += Math.Exp(z - max);
            total += max + Math.Log(sum) - row[targets[t]];
            n++;
        }
        return n == 0 ? 0 : total / n;
    }
}
