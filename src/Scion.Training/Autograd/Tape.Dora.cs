namespace Scion.Training.Autograd;

public sealed unsafe partial class Tape
{
    /// <summary>
    /// DoRA with PEFT's semantics (DoraLinearLayer): s = m / ‖W + scale·B A‖ (per output row, norm
    /// over the input dimension, DETACHED: a constant in backward, as PEFT and the DoRA paper §4.3 do),
    /// y = x Wᵀ + (s − 1) ⊙ (xd Wᵀ) + s ⊙ scale·(xd Aᵀ) Bᵀ with xd = dropout(x).
    /// Without dropout this is s ⊙ (x Wᵀ + scale·x Aᵀ Bᵀ).
    /// x [T, in], W [out, in], a [r, in], b [out, r], magnitude [out] → [T, out].
    /// </summary>
    public Tensor DoraLinear(Tensor x, IFrozenWeight w, Tensor a, Tensor b, Tensor magnitude, float scale, float dropout = 0f)
    {
        var (rank, inF, outF) = LoraShapes(x, a, b, nameof(DoraLinear));
        if (w.Rows != outF || w.Cols != inF)
            throw new ArgumentException($"DoraLinear: base weight is [{w.Rows}, {w.Cols}] but the adapter is [{outF}, {inF}].");
        if (magnitude.Length != outF)
            throw new ArgumentException($"DoraLinear: magnitude must be [{outF}], found {magnitude}.");
        int tokens = x.Rows;

        var norms = CachedDoraNorms(w, a.Data, b.Data, rank, scale); // [out], shared: read only
        var s = new float[outF];     // [out] = m / ‖W + scale·BA‖
        for (int o = 0; o < outF; o++) s[o] = magnitude.Data[o] / norms[o];

        var dropped = DropoutCopy(x.Data, dropout, out var keep); // [T, in] or null
        float[] xd = dropped ?? x.Data;
        var hs = new float[tokens * rank]; // [T, r] = scale · xd Aᵀ
        Gemm.XWt(Pool, xd, a.Data, hs, tokens, rank, inF, accumulate: false);
        for (int i = 0; i < hs.Length; i++) hs[i] *= scale;

        var y = NewTensor(tokens, outF);
        var u = Tensor.ZeroedArray(tokens * outF);                   // [T, out] = xd Wᵀ + lora: what s multiplies (dm needs it)
        if (dropped is null)
        {
            w.Forward(x.Data, u, tokens);                   // x Wᵀ
            Gemm.XWt(Pool, hs, b.Data, u, tokens, outF, rank, accumulate: true);
            fixed (float* pu = u, ps = s, py = y.Data) DoraKernels.ScaleColumns(Pool, pu, ps, py, tokens, outF);
        }
        else
        {
            // y = x Wᵀ + (s − 1) ⊙ (xd Wᵀ) + s ⊙ lora = x Wᵀ − xd Wᵀ + s ⊙ u.
            w.Forward(x.Data, y.Data, tokens);              // base = x Wᵀ
            var baseDropped = Tensor.ZeroedArray(tokens * outF);     // [T, out] = xd Wᵀ
            w.Forward(xd, baseDropped, tokens);
            baseDropped.AsSpan().CopyTo(u);
            Gemm.XWt(Pool, hs, b.Data, u, tokens, outF, rank, accumulate: true);
            var su = Tensor.ZeroedArray(tokens * outF);
            fixed (float* pu = u, ps = s, psu = su) DoraKernels.ScaleColumns(Pool, pu, ps, psu, tokens, outF);
            for (int i = 0; i < u.Length; i++) y.Data[i] += su[i] - baseDropped[i];
        }

        if (ShouldRecord(x, a, b) || ShouldRecord(magnitude))
            Record(y, 2L * outF + hs.Length + u.Length + (dropped is null ? 0 : dropped.Length + dropped.Length / 4), () =>
            {
                var dy = y.Grad!;
                bool needDys = a.RequiresGrad || b.RequiresGrad || x.RequiresGrad;
                if (!needDys && !magnitude.RequiresGrad) return;
                var dys = Tensor.ZeroedArray(dy.Length); // [T, out] = dy ⊙ s, the gradient of the adapter branch and of u
                var dots = new double[outF];    // Σ_t dy ⊙ u per output, for dm
                fixed (float* pdy = dy, pu = u, ps = s, pdys = dys)
                fixed (double* pdots = dots)
                    DoraKernels.ScaleAndColumnDots(Pool, pdy, pu, ps, pdys, pdots, tokens, outF);
                if (magnitude.RequiresGrad)
                {
                    var dm = magnitude.EnsureGrad();
                    for (int o = 0; o < outF; o++) dm[o] += (float)(dots[o] / norms[o]);
                }
                if (!needDys) return;
                if (b.RequiresGrad) Gemm.AccDyTX(Pool, dys, hs, b.EnsureGrad(), tokens, outF, rank);
                if (!a.RequiresGrad && !x.RequiresGrad) return;
                var dh = new float[tokens * rank];
                Gemm.AccXW(Pool, dys, b.Data, dh, tokens, outF, rank);
                for (int i = 0; i < dh.Length; i++) dh[i] *= scale;
                if (a.RequiresGrad) Gemm.AccDyTX(Pool, dh, xd, a.EnsureGrad(), tokens, rank, inF);
                if (!x.RequiresGrad) return;
                var dx = x.EnsureGrad();
                if (dropped is null)
                {
                    w.BackwardInput(dys, dx, tokens);
                    Gemm.AccXW(Pool, dh, a.Data, dx, tokens, rank, inF);
                }
                else
                {
                    // u = xd Wᵀ + lora collects dy ⊙ s, the base subtraction −xd Wᵀ collects −dy, plain base +dy.
                    var dxd = Tensor.ZeroedArray(dropped.Length);
                    for (int i = 0; i < dys.Length; i++) dys[i] -= dy[i];
                    w.BackwardInput(dys, dxd, tokens);
                    Gemm.AccXW(Pool, dh, a.Data, dxd, tokens, rank, inF);
                    DropoutBackward(dxd, keep!, dropout, dx);
                    w.BackwardInput(dy, dx, tokens);
                }
            });
        return y;
    }
}
