namespace Scion.Training.Autograd;

public sealed partial class Tape
{
    /// <summary>
    /// RMSNorm: y = (x / √(mean(x²) + eps)) ⊙ weight, per row; weight frozen or trainable.
    /// x [T, D], weight [D] → [T, D].
    /// </summary>
    public Tensor RmsNorm(Tensor x, Tensor weight, float eps)
    {
        int dim = weight.Length;
        Expect2D(x, dim, nameof(RmsNorm), "x");
        int tokens = x.Rows;
        var y = NewTensor(tokens, dim);
        var inv = new float[tokens]; // [T] = 1/rms, saved for backward
        var forward = new RmsNormJob { X = x.Data, W = weight.Data, Y = y.Data, Inv = inv, Dim = dim, Tokens = tokens, Eps = eps };
        RunRows(ref forward, tokens, dim);
        if (ShouldRecord(x, weight))
            Record(y, tokens, () =>
            {
                var dy = y.Grad!;
                if (weight.RequiresGrad)
                {
                    // dw sums over rows: one thread, rows in order (a trainable norm weight is rare; the models' are frozen).
                    var dw = weight.EnsureGrad();
                    for (int t = 0; t < tokens; t++)
                    {
                        var xr = x.Data.AsSpan(t * dim, dim);
                        var gr = dy.AsSpan(t * dim, dim);
                        float r = inv[t];
                        for (int i = 0; i < dim; i++) dw[i] += gr[i] * xr[i] * r;
                    }
                }
                if (!x.RequiresGrad) return;
                var backward = new RmsNormJob { X = x.Data, W = weight.Data, Dy = dy, Dx = x.EnsureGrad(), Inv = inv, Dim = dim, Tokens = tokens };
                RunRows(ref backward, tokens, dim);
            });
        return y;
    }

    private struct RmsNormJob : Scion.Tensors.IParallelJob
    {
        public float[] X, W, Inv;  // [T, D], [D], [T]
        public float[]? Y;         // forward: [T, D]
        public float[]? Dy, Dx;    // backward: [T, D] in, [T, D] accumulated
        public int Dim, Tokens;
        public float Eps;

        public readonly void Execute(int chunk)
        {
            int dim = Dim, t1 = Math.Min(Tokens, (chunk + 1) * RowChunk);
            for (int t = chunk * RowChunk; t < t1; t++)
            {
                var xr = X.AsSpan(t * dim, dim);
                if (Y is not null)
                {
                    double sum = 0; // double accumulation as ggml does
                    for (int i = 0; i < dim; i++) sum += (double)xr[i] * xr[i];
                    float r = (float)(1.0 / Math.Sqrt(sum / dim + Eps));
                    Inv[t] = r;
                    var yr = Y.AsSpan(t * dim, dim);
                    for (int i = 0; i < dim; i++) yr[i] = xr[i] * r * W[i];
                    continue;
                }
                // dx = r·g − x·r³·(g·x)/D with g = dy ⊙ weight
                var gr = Dy!.AsSpan(t * dim, dim);
                float rr = Inv[t];
                double dot = 0;
                for (int i = 0; i < dim; i++) dot += (double)gr[i] * W[i] * xr[i];
                float c = (float)(dot * rr * rr * rr / dim);
                var dxr = Dx!.AsSpan(t * dim, dim);
                for (int i = 0; i < dim; i++) dxr[i] += rr * gr[i] * W[i] - xr[i] * c;
            }
        }
    }
}
