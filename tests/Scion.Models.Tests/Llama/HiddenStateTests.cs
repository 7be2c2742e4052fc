using Scion.Models.KvCache;
using Scion.Models.Llama;
using Scion.Tensors;

namespace Scion.Models.Tests.Llama;

/// <summary>ForwardHidden returns what the output projection turns into Forward's logits, for every row.</summary>
public class HiddenStateTests
{
    [Theory]
    [InlineData(GgmlType.F32)]
    [InlineData(GgmlType.F16)]
    public void OutputProjectionOfTheHiddenStatesIsTheLogits(GgmlType type)
    {
        var c = RandomModel.TinyConfig();
        using var m = new LlamaModel(c, RandomModel.Build(c, 31, type));
        int[] tokens = [3, 14, 15, 9, 26, 53, 5, 8];
        var logits = m.Forward(new ForwardBatch().AddSequence(0, tokens, 0, allLogits: true), new PagedKvCache(c, 16));
        var hidden = m.ForwardHidden(new ForwardBatch().AddSequence(0, tokens, 0), new PagedKvCache(c, 16));
        Assert.Equal(tokens.Length * c.Dim, hidden.Length);
        var projected = new float[tokens.Length * c.Vocab];
        MatMul.Multiply(m.Weights.Output, hidden, projected, tokens.Length, m.Pool);
        Assert.Equal(logits, projected);
        // Normed: each row times 1/OutputNorm has unit RMS.
        for (int t = 0; t < tokens.Length; t++)
        {
            double ms = 0;
            for (int i = 0; i < c.Dim; i++) { double v = hidden[t * c.Dim + i] / m.Weights.OutputNorm[i]; ms += v * v; }
            Assert.Equal(1.0, Math.Sqrt(ms / c.Dim), 1e-3);
        }
    }
}
