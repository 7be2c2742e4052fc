namespace Scion.Training.Autograd;

public sealed partial class Tape
{
    /// <summary>x + bias per row with a frozen bias (Qwen2's q/k/v biases); gradient flows to x only. x [T, D], bias [D] → [T, D].</summary>
    public Tensor AddBias(Tensor x, float[] bias)
    {
        Expect2D(x, bias.Length, nameof(AddBias), "x");
        var y = NewTensor(x.Shape);
        int d = bias.Length;
        for (int i = 0; i < x.Length; i++) y.Data[i] = x.Data[i] + bias[i % d];
        if (ShouldRecord(x)) Record(y, 0, () => AddInto(x.EnsureGrad(), y.Grad!));
        return y;
    }
}
