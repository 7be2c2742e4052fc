using Scion.Models.Quantization;
using Scion.Tensors;

namespace Scion.Models.Tests.Quantization;

public class QuantizationMixTests
{
    [Fact]
    public void UseMoreBitsPicksFirstAndLastEighthAndEveryThird()
    {
        // 22 layers (TinyLlama): n/8 = 2, 7n/8 = 19 → 0,1, then 4,7,10,13,16, then 19,20,21.
        var picked = Enumerable.Range(0, 22).Where(l => QuantizationMix.UseMoreBits(l, 22)).ToArray();
        Assert.Equal([0, 1, 4, 7, 10, 13, 16, 19, 20, 21], picked);
        // 2 layers: n/8 = 0, 7n/8 = 1 → only the last.
        Assert.Equal([1], Enumerable.Range(0, 2).Where(l => QuantizationMix.UseMoreBits(l, 2)).ToArray());
    }

    [Fact]
    public void Q4_K_MFollowsLlamaCppRules()
    {
        var mix = QuantizationMix.Parse("q4_k_m");
        Assert.Equal(15u, mix.FileType);
        GgmlType T(string name, long cols = 2048, long rows = 2048, bool hasOutput = true) => mix.TypeFor(name, [cols, rows], 22, hasOutput, out _);
        Assert.Equal(GgmlType.Q4_K, T("token_embd.weight", 2048, 32000));
        Assert.Equal(GgmlType.Q6_K, T("output.weight", 2048, 32000));
        Assert.Equal(GgmlType.Q6_K, T("token_embd.weight", 2048, 32000, hasOutput: false)); // tied: the embedding is the output
        Assert.Equal(GgmlType.Q6_K, T("blk.0.attn_v.weight", 2048, 256));
        Assert.Equal(GgmlType.Q4_K, T("blk.2.attn_v.weight", 2048, 256));
        Assert.Equal(GgmlType.Q6_K, T("blk.4.ffn_down.weight", 5632, 2048));
        Assert.Equal(GgmlType.Q4_K, T("blk.5.ffn_down.weight", 5632, 2048));
        Assert.Equal(GgmlType.Q4_K, T("blk.0.attn_q.weight"));
        Assert.Equal(GgmlType.F32, mix.TypeFor("blk.0.attn_norm.weight", [2048], 22, true, out _));
        Assert.Equal(GgmlType.F32, mix.TypeFor("blk.0.attn_q.bias", [2048], 22, true, out _));
    }

    [Fact]
    public void RowsThatDoNotFitBlocksFallBack()
    {
        var mix = QuantizationMix.Parse("Q4_K");
        Assert.Equal(GgmlType.Q8_0, mix.TypeFor("blk.0.attn_q.weight", [64, 64], 2, true, out var note));
        Assert.Contains("Q4_K", note);
        Assert.Equal(GgmlType.F16, mix.TypeFor("blk.0.ffn_down.weight", [172, 64], 2, true, out _));
        Assert.Equal(GgmlType.F16, QuantizationMix.Parse("Q8_0").TypeFor("blk.0.ffn_down.weight", [172, 64], 2, true, out _));
        Assert.Equal(GgmlType.Q8_0, QuantizationMix.Parse("Q4_0").TypeFor("output.weight", [64, 32000], 2, true, out _));
        Assert.Equal(GgmlType.Q6_K, QuantizationMix.Parse("Q4_0").TypeFor("output.weight", [2048, 32000], 2, true, out _));
        Assert.Equal(GgmlType.Q8_0, QuantizationMix.Parse("Q8_0").TypeFor("output.weight", [2048, 32000], 2, true, out _));
        Assert.Equal(GgmlType.Q4_K, mix.TypeFor("output.weight", [2048, 32000], 2, true, out _)); // pure Q4_K
    }

    [Fact]
    public void FloatTypesConvertEveryMatrix()
    {
        foreach (var (name, type) in new[] { ("F16", GgmlType.F16), ("BF16", GgmlType.BF16), ("F32", GgmlType.F32) })
        {
            var mix = QuantizationMix.Parse(name);
            Assert.Equal(type, mix.TypeFor("output.weight", [64, 32000], 2, true, out var note));
            Assert.Null(note);
            Assert.Equal(type, mix.TypeFor("blk.0.ffn_down.weight", [172, 64], 2, true, out _));
        }
        Assert.Throws<ArgumentException>(() => QuantizationMix.Parse("Q5_K"));
    }
}
