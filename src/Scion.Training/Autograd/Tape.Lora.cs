namespace Scion.Training.Autograd;

public sealed partial class Tape
{
    /// <summary>
    /// The LoRA branch alone: scale · (drop(x) Aᵀ) Bᵀ, dropout on the adapter's input only (PEFT).
    /// x [T, in], a [r, in], b [out, r] → [T, out].
    /// </summary>
    public Tensor Lora(Tensor x, Tensor a, Tensor b, float scale, float dropout = 0f) => LoraCore(x, null, a, b, scale, dropout);

    /// <summary>
    /// Base projection plus LoRA in one output: x Wᵀ + scale · (drop(x) Aᵀ) Bᵀ. Saves the [T, out]
    /// buffers that LinearFrozen + Lora + Add would keep. x [T, in], W [out, in], a [r, in], b [out, r] → [T, out].
    /// </summary>
    public Tensor LoraLinear(Tensor x, IFrozenWeight w, Tensor a, Tensor b, float scale, float dropout = 0f) => LoraCore(x, w, a, b, scale, dropout);

    private Tensor LoraCore(Tensor x, IFrozenWeight? w, Tensor a, Tensor b, float scale, float dropout)
    {
        var (rank, inF, outF) = LoraShapes(x, a, b, nameof(Lora));
        if (w is not null && (w.Rows != outF || w.Cols != inF))
            throw new ArgumentException($"LoraLinear: base weight is [{w.Rows}, {w.Cols}] but the adapter is [{outF}, {inF}].");
        int tokens = x.Rows;

        var dropped = DropoutCopy(x.Data, dropout, out var keep); // [T, in] or null
        float[] xd = dropped ?? x.Data;
        var hs = new float[tokens * rank]; // [T, r] = scale · xd Aᵀ
        Gemm.XWt(Pool, xd, a.Data, hs, tokens, rank, inF, accumulate: false);
        for (int i = 0; i < hs.Length; i++) hs[i] *= scale;

        var y = NewTensor(tokens, outF);
        w?.Forward(x.Data, y.Data, tokens);
        Gemm.XWt(Pool, hs, b.Data, y.Data, tokens, outF, rank, accumulate: true);

        if (ShouldRecord(x, a, b))
            Record(y, hs.Length + (dropped is null ? 0 : dropped.Length + dropped.Length / 4), () =>
            {
                var dy = y.Grad!;
                if (b.RequiresGrad) Gemm.AccDyTX(Pool, dy, hs, b.EnsureGrad(), tokens, outF, rank);    // dB += dyᵀ hs
                if (!a.RequiresGrad && !x.RequiresGrad) return;
                var dh = new float[tokens * rank];                                                // [T, r]
                Gemm.AccXW(Pool, dy, b.Data, dh, tokens, outF, rank);
                for (int i = 0; i < dh.Length; i++) dh[i] *= scale;
                if (a.RequiresGrad) Gemm.AccDyTX(Pool, dh, xd, a.EnsureGrad(), tokens, rank, inF);     // dA += dhᵀ xd
                if (!x.RequiresGrad) return;
                var dx = x.EnsureGrad();
                if (w is not null) w.BackwardInput(dy, dx, tokens);
                if (dropped is null)
                {
                    Gemm.AccXW(Pool, dh, a.Data, dx, tokens, rank, inF);
                }
                else
                {
                    var dxd = Tensor.ZeroedArray(dropped.Length);
                    Gemm.AccXW(Pool, dh, a.Data, dxd, tokens, rank, inF);
                    DropoutBackward(dxd, keep!, dropout, dx);
                }
            });
        return y;
    }

    private static (int Rank, int In, int Out) LoraShapes(Tensor x, Tensor a, Tensor b, string op)
    {
        if (a.Shape.Length != 2 || b.Shape.Length != 2 || b.Shape[1] != a.Shape[0])
            throw new ArgumentException($"{op}: needs A [r, in] and B [out, r], found {a} and {b}.");
        Expect2D(x, a.Shape[1], op, "x");
        return (a.Shape[0], a.Shape[1], b.Shape[0]);
    }
}
