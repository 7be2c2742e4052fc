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
        float[] xd = x.Data, wd = weight.Data, yd = y.Data;
        for (int t = 0; t < tokens; t++)
        {
            var xr = xd.AsSpan(t * dim, dim);
            double sum = 0; // double accumulation as ggml does
            for (int i = 0; i < dim; i++) sum += (double)xr[i] * xr[i];
            float r = (float)(1.0 / Math.Sqrt(sum / dim + eps));
            inv[t] = r;
            var yr = yd.AsSpan(t * dim, dim);
            for (int i = 0; i < dim; i++) yr[i] = xr[i] * r * wd[i];
        }
        if (ShouldRecord(x, weight))
            Record(y, tokens, () =>
            {
                var dy = y.Grad!;
                float[]? dw = weight.RequiresGrad ? weight.EnsureGrad() : null;
                float[]? dx = x.RequiresGrad ? x.EnsureGrad() : null;
                for (int t = 0; t < tokens; t++)
                {
                    var xr = xd.AsSpan(t * dim, dim);
                    var gr = dy.AsSpan(t * dim, dim);
                    float r = inv[t];
                    if (dw is not null)
                        for (int i = 0; i < dim; i++) dw[i] += gr[i] * xr[i] * r;
                    if (dx is null) continue;
                    // dx = r·g − x·r³·(g·x)/D with g = dy ⊙ weight
                    double dot = 0;
                    for (int i = 0; i < dim; i++) dot += (double)gr[i] * wd[i] * xr[i];
                    float c = (float)(dot * r * r * r / dim);
                    var dxr = dx.AsSpan(t * dim, dim);
                    for (int i = 0; i < dim; i++) dxr[i] += r * gr[i] * wd[i] - xr[i] * c;
                }
            });
        return y;
    }
}
