namespace Scion.Training.Autograd;

public sealed partial class Tape
{
    /// <summary>y = x Wᵀ with a frozen base weight; gradient flows to x only. x [T, in], W [out, in] → [T, out].</summary>
    public Tensor LinearFrozen(Tensor x, IFrozenWeight w)
    {
        Expect2D(x, w.Cols, nameof(LinearFrozen), "x");
        int tokens = x.Rows;
        var y = NewTensor(tokens, w.Rows);
        w.Forward(x.Data, y.Data, tokens);
        if (ShouldRecord(x))
            Record(y, 0, () => w.BackwardInput(y.Grad!, x.EnsureGrad(), tokens));
        return y;
    }

    /// <summary>y = x Wᵀ with a trainable weight. x [T, in], w [out, in] → [T, out].</summary>
    public Tensor Linear(Tensor x, Tensor w)
    {
        if (w.Shape.Length != 2) throw new ArgumentException($"Linear: weight must be [out, in], found {w}.");
        int outF = w.Shape[0], inF = w.Shape[1];
        Expect2D(x, inF, nameof(Linear), "x");
        int tokens = x.Rows;
        var y = NewTensor(tokens, outF);
        Gemm.XWt(Pool, x.Data, w.Data, y.Data, tokens, outF, inF, accumulate: false);
        if (ShouldRecord(x, w))
            Record(y, 0, () =>
            {
                var dy = y.Grad!;
                if (x.RequiresGrad) Gemm.AccXW(Pool, dy, w.Data, x.EnsureGrad(), tokens, outF, inF);
                if (w.RequiresGrad) Gemm.AccDyTX(Pool, dy, x.Data, w.EnsureGrad(), tokens, outF, inF);
            });
        return y;
    }

    /// <summary>Matrix product. a [M, K], b [K, N] → [M, N].</summary>
    public Tensor MatMul(Tensor a, Tensor b)
    {
        if (a.Shape.Length != 2 || b.Shape.Length != 2 || a.Shape[1] != b.Shape[0])
            throw new ArgumentException($"MatMul: needs [M, K] × [K, N], found {a} × {b}.");
        int m = a.Shape[0], k = a.Shape[1], n = b.Shape[1];
        var y = NewTensor(m, n);
        // y = a b is "dy w" with dy := a, w := b in the accumulate-into kernel.
        Gemm.AccXW(Pool, a.Data, b.Data, y.Data, m, k, n);
        if (ShouldRecord(a, b))
            Record(y, 0, () =>
            {
                var dy = y.Grad!;
                if (a.RequiresGrad) Gemm.XWt(Pool, dy, b.Data, a.EnsureGrad(), m, k, n, accumulate: true);   // da += dy bᵀ
                if (b.RequiresGrad) Gemm.AccDyTX(Pool, a.Data, dy, b.EnsureGrad(), m, k, n);                // db += aᵀ dy
            });
        return y;
    }
}
