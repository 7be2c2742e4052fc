using System.Runtime.InteropServices;
using Scion.Models.Formats;
using Scion.Testing;

namespace Scion.Models.Tests.Formats;

public class Llama2cCheckpointTests
{
    [Fact]
    public void ReadsStories260KHeader()
    {
        using var c = Llama2cCheckpoint.Open(SharedData.Path("models", "stories260K", "stories260K.bin"));
        Assert.Equal(new Llama2cConfig { Dim = 64, HiddenDim = 172, Layers = 5, Heads = 8, KvHeads = 4, VocabSize = 512, SeqLen = 512, SharedClassifier = true }, c.Config);
        Assert.Equal(8, c.Config.HeadSize);
        Assert.Equal(32, c.Config.KvDim);
        Assert.Equal(new long[] { 5, 32, 64 }, c.Wk.Shape);
        Assert.Same(c.TokenEmbedding, c.Classifier);
        Assert.Null(c.FindTensor("wcls"));
    }

    /// <summary>
    /// Every llama2.c tensor equals its GGUF twin as stored, Q and K included: llama2.c models use interleaved-pair
    /// rotary embeddings, which is GGUF's order, so the HF permutation does not apply to them.
    /// </summary>
    [Fact]
    public void EveryTensorEqualsTheGgufCopyWithoutPermutation()
    {
        using var c = Llama2cCheckpoint.Open(SharedData.Path("models", "stories260K", "stories260K.bin"));
        using var g = GgufFile.Open(BundledModel.Stories260K);
        ReadOnlySpan<float> G(string name) => MemoryMarshal.Cast<byte, float>(g.TensorBytes(g.RequireTensor(name)));

        Assert.True(c.TensorSpan(c.TokenEmbedding).SequenceEqual(G("token_embd.weight")));
        Assert.True(c.TensorSpan(c.Classifier).SequenceEqual(G("output.weight")));
        Assert.True(c.TensorSpan(c.RmsFinal).SequenceEqual(G("output_norm.weight")));
        var pairs = new (Llama2cTensorInfo Tensor, string Gguf)[]
        {
            (c.RmsAtt, "attn_norm"), (c.Wq, "attn_q"), (c.Wk, "attn_k"), (c.Wv, "attn_v"), (c.Wo, "attn_output"),
            (c.RmsFfn, "ffn_norm"), (c.W1, "ffn_gate"), (c.W2, "ffn_down"), (c.W3, "ffn_up"),
        };
        for (int layer = 0; layer < c.Config.Layers; layer++)
            foreach (var (tensor, gguf) in pairs)
                Assert.True(c.LayerSpan(tensor, layer).SequenceEqual(G($"blk.{layer}.{gguf}.weight")), $"layer {layer} {tensor.Name}");

        // And the HF permutation would break the match (the check above is not vacuous).
        var wq0 = c.LayerSpan(c.Wq, 0);
        Assert.False(RotaryPermutation.ToGgufOrder(wq0, 64, c.Config.HeadSize).AsSpan().SequenceEqual(G("blk.0.attn_q.weight")));
    }

    [Fact]
    public void UnsharedClassifierAddsWcls()
    {
        using var dir = new TempDirectory();
        string path = dir.File("unshared.bin");
        int dim = 8, hidden = 12, layers = 1, heads = 2, kv = 1, vocab = 5, seq = 4;
        int kvDim = kv * dim / heads;
        long floats = vocab * dim + layers * dim + layers * dim * dim * 2 + layers * kvDim * dim * 2 + layers * dim
            + layers * hidden * dim * 3 + dim + seq * (dim / heads / 2) * 2 + vocab * dim;
        var bytes = new byte[28 + floats * 4];
        new[] { dim, hidden, layers, heads, kv, -vocab, seq }.CopyTo(MemoryMarshal.Cast<byte, int>(bytes.AsSpan(0, 28)));
        MemoryMarshal.Cast<byte, float>(bytes.AsSpan(bytes.Length - 4))[0] = 42f; // last float of wcls
        File.WriteAllBytes(path, bytes);

        using (var c = Llama2cCheckpoint.Open(path))
        {
            Assert.False(c.Config.SharedClassifier);
            Assert.Equal(5, c.Config.VocabSize);
            Assert.Equal("wcls", c.Classifier.Name);
            Assert.Equal(42f, c.TensorSpan(c.Classifier)[^1]);
        }

        File.WriteAllBytes(path, bytes[..^4]);
        var e = Assert.Throws<ModelFormatException>(() => Llama2cCheckpoint.Open(path).Dispose());
        Assert.Contains(path, e.Message);
        Assert.Contains($"should be {bytes.Length} bytes", e.Message);
    }

    [Theory]
    [InlineData(new[] { 64, 172, 5, 8, 3, 512, 512 }, "n_kv_heads")]
    [InlineData(new[] { 64, 172, 0, 8, 4, 512, 512 }, "n_layers")]
    [InlineData(new[] { 64, 172, 5, 7, 7, 512, 512 }, "n_heads")]
    [InlineData(new[] { 0x616b3432, 1, 1, 1, 1, 1, 1 }, "ak42")]
    public void RejectsBadHeaders(int[] header, string expected)
    {
        using var dir = new TempDirectory();
        string path = dir.File("bad.bin");
        File.WriteAllBytes(path, [.. MemoryMarshal.AsBytes<int>(header), .. new byte[64]]);
        var e = Assert.Throws<ModelFormatException>(() => Llama2cCheckpoint.Open(path).Dispose());
        Assert.Contains(expected, e.Message);
    }
}
