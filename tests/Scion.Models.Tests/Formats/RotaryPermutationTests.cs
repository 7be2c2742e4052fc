using Scion.Models.Formats;
using Scion.Testing;

namespace Scion.Models.Tests.Formats;

public class RotaryPermutationTests
{
    [Fact]
    public void HfQAndKRowsPermutedEqualGgufRows()
    {
        // hf-golden-tiny holds golden-tiny-f16.gguf's weights in HF order; both are F16, so compare raw bytes.
        using var hf = SafetensorsFile.Open(SharedData.Path("golden", "hf-golden-tiny", "model.safetensors"));
        using var gguf = GgufFile.Open(SharedData.Path("golden", "golden-tiny-f16.gguf"));
        int headDim = (int)(gguf.Metadata.RequireInteger("llama.embedding_length") / gguf.Metadata.RequireInteger("llama.attention.head_count"));
        Assert.Equal(16, headDim);
        for (int layer = 0; layer < 2; layer++)
        {
            foreach (var (hfName, ggufName) in new[] { ("q_proj", "attn_q"), ("k_proj", "attn_k") })
            {
                var source = hf.TensorBytes(hf.RequireTensor($"model.layers.{layer}.self_attn.{hfName}.weight"));
                var target = gguf.TensorBytes(gguf.RequireTensor($"blk.{layer}.{ggufName}.weight"));
                int rowBytes = 64 * 2;
                Assert.False(source.SequenceEqual(target)); // the permutation is not the identity here
                Assert.True(RotaryPermutation.ToGgufOrder(source, rowBytes, headDim).AsSpan().SequenceEqual(target), $"layer {layer} {hfName}");
                Assert.True(RotaryPermutation.ToHfOrder(target, rowBytes, headDim).AsSpan().SequenceEqual(source), $"layer {layer} {hfName} inverse");
            }
            // V is not rotated, so its rows agree as stored.
            Assert.True(hf.TensorBytes(hf.RequireTensor($"model.layers.{layer}.self_attn.v_proj.weight"))
                .SequenceEqual(gguf.TensorBytes(gguf.RequireTensor($"blk.{layer}.attn_v.weight"))));
        }
    }

    [Fact]
    public void RowMapsAreInversesAndInterleaveHalves()
    {
        // Head of 8: GGUF rows 0..7 come from HF rows 0,4,1,5,2,6,3,7.
        Assert.Equal([0, 4, 1, 5, 2, 6, 3, 7, 8, 12, 9, 13, 10, 14, 11, 15], Enumerable.Range(0, 16).Select(r => RotaryPermutation.GgufRowToHfRow(r, 8)));
        for (int r = 0; r < 64; r++)
        {
            Assert.Equal(r, RotaryPermutation.HfRowToGgufRow(RotaryPermutation.GgufRowToHfRow(r, 16), 16));
            Assert.Equal(r, RotaryPermutation.GgufRowToHfRow(RotaryPermutation.HfRowToGgufRow(r, 16), 16));
        }
        float[] hf = Enumerable.Range(0, 8 * 3).Select(i => (float)i).ToArray(); // [8 rows, 3 cols]
        float[] gguf = RotaryPermutation.ToGgufOrder<float>(hf, 3, 8);
        Assert.Equal(new float[] { 12, 13, 14 }, gguf[3..6]); // GGUF row 1 = HF row 4
        Assert.Equal(hf, RotaryPermutation.ToHfOrder<float>(gguf, 3, 8));
        Assert.Throws<ArgumentOutOfRangeException>(() => RotaryPermutation.ToGgufOrder<float>(hf, 3, 7));
        Assert.Throws<ArgumentException>(() => RotaryPermutation.ToGgufOrder<float>(hf, 4, 8));
    }
}
