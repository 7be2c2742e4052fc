using Scion.Models.Formats;
using Scion.Models.KvCache;
using Scion.Models.Llama;
using Scion.Tensors;

namespace Scion.Models.Tests.Llama;

/// <summary>Model-level file handling: the same weights in two formats, and files that do not fit.</summary>
public sealed class ModelFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("scion-model-files-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static float[] Logits(LlamaModel m, int[] tokens) =>
        m.Forward(new ForwardBatch().AddSequence(0, tokens, 0, allLogits: true), new PagedKvCache(m.Config, 64));

    [Theory]
    [InlineData(GgmlType.F32)]
    [InlineData(GgmlType.F16)]
    public void GgufAndSafetensorsCopiesGiveTheSameLogits(GgmlType type)
    {
        var c = RandomModel.TinyConfig();
        var source = RandomModel.Build(c, 3, type);
        string gguf = Path.Combine(_dir, "m.gguf");
        TinyModelFiles.WriteGguf(source, c, gguf);
        TinyModelFiles.WriteHf(source, c, Path.Combine(_dir, "hf"));
        int[] tokens = [1, 5, 9, 33, 2, 60, 7, 7, 12];
        using var fromGguf = LlamaModel.LoadGguf(gguf);
        using var fromHf = LlamaModel.LoadHuggingFace(Path.Combine(_dir, "hf"));
        using var inMemory = new LlamaModel(c, source);
        Assert.Equal(RopeStyle.Interleaved, fromGguf.Config.RopeStyle);
        Assert.Equal(RopeStyle.HalfSplit, fromHf.Config.RopeStyle);
        var expected = Logits(inMemory, tokens);
        ForwardEquivalenceTests.AssertClose(expected, Logits(fromGguf, tokens), 0);
        // The HF copy is stored as F32 (a widened F16 is exact) and rotates the other half-pairing: same weights, but
        // F16 weights meet activations rounded to F16 (as ggml does) and F32 ones do not, hence the looser F16 bound.
        ForwardEquivalenceTests.AssertClose(expected, Logits(fromHf, tokens), type == GgmlType.F32 ? 1e-5f : 5e-3f);
    }

    /// <summary>Every size and number that feeds arithmetic is range-checked where it is read: these once divided by
    /// zero (head count 0), wrapped negative (a u32 above 2^31) or loaded and produced NaN (a zero frequency base).</summary>
    [Theory]
    [InlineData("llama.attention.head_count", 0u, "expected an integer from 1")]
    [InlineData("llama.attention.head_count_kv", 0u, "expected an integer from 1")]
    [InlineData("llama.context_length", 0u, "expected an integer from 1")]
    [InlineData("llama.context_length", 3_000_000_000u, "is 3000000000; expected an integer from 1 to 2147483647")]
    [InlineData("llama.block_count", 4_294_967_295u, "expected an integer from 1 to 2147483647")]
    [InlineData("llama.embedding_length", 0u, "expected an integer from 1")]
    [InlineData("llama.rope.freq_base", 0f, "rope frequency base 0 must be a positive finite number")]
    [InlineData("llama.rope.freq_base", -10000f, "rope frequency base -10000 must be a positive finite number")]
    [InlineData("llama.rope.freq_base", float.NaN, "rope frequency base NaN must be a positive finite number")]
    [InlineData("llama.rope.freq_base", float.PositiveInfinity, "must be a positive finite number")]
    [InlineData("llama.attention.layer_norm_rms_epsilon", float.PositiveInfinity, "rms eps")]
    [InlineData("llama.attention.layer_norm_rms_epsilon", 0f, "rms eps 0 must be a positive finite number")]
    public void OutOfRangeMetadataIsRefusedNamingIt(string key, object value, string expected)
    {
        var c = RandomModel.TinyConfig();
        string path = Path.Combine(_dir, "range.gguf");
        TinyModelFiles.WriteGguf(RandomModel.Build(c, 1), c, path, metadata: new Dictionary<string, object> { [key] = value });
        var e = Assert.Throws<ModelFormatException>(() => LlamaModel.LoadGguf(path));
        Assert.Contains(expected, e.Message);
        Assert.Contains(path, e.Message);
        if (expected.StartsWith("expected an integer") || expected.StartsWith("is ")) Assert.Contains(key, e.Message);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-2.0)]
    public void RopeScalingFactorMustBePositive(double factor)
    {
        var c = RandomModel.TinyConfig();
        string path = Path.Combine(_dir, "scaling.gguf");
        TinyModelFiles.WriteGguf(RandomModel.Build(c, 1), c, path, metadata: new Dictionary<string, object>
        {
            ["llama.rope.scaling.type"] = "linear", ["llama.rope.scaling.factor"] = (float)factor,
        });
        var e = Assert.Throws<ModelFormatException>(() => LlamaModel.LoadGguf(path));
        Assert.Contains("rope scaling factor", e.Message);
    }

    [Fact]
    public void MissingTensorIsNamed()
    {
        var c = RandomModel.TinyConfig();
        string path = Path.Combine(_dir, "missing.gguf");
        TinyModelFiles.WriteGguf(RandomModel.Build(c, 1), c, path, keep: n => n != "blk.1.ffn_up.weight");
        var e = Assert.Throws<ModelFormatException>(() => LlamaModel.LoadGguf(path));
        Assert.Contains("blk.1.ffn_up.weight", e.Message);
        Assert.Contains("missing", e.Message);
    }

    [Fact]
    public void WrongTensorShapeIsNamed()
    {
        var c = RandomModel.TinyConfig();
        string path = Path.Combine(_dir, "shape.gguf");
        // attn_k stored as [D, 16] × 2 reshaped to look like a [D/2 ...] matrix: same bytes, wrong shape.
        TinyModelFiles.WriteGguf(RandomModel.Build(c, 1), c, path,
            reshape: (n, s) => n == "blk.0.attn_k.weight" ? [s[0] / 2, s[1] * 2] : s);
        var e = Assert.Throws<ModelFormatException>(() => LlamaModel.LoadGguf(path));
        Assert.Contains("blk.0.attn_k.weight", e.Message);
        Assert.Contains("expected [32, 16]", e.Message);
    }

    [Fact]
    public void UnsupportedArchitectureIsNamed()
    {
        var c = RandomModel.TinyConfig();
        string path = Path.Combine(_dir, "arch.gguf");
        TinyModelFiles.WriteGguf(RandomModel.Build(c, 1), c, path);
        var patched = File.ReadAllBytes(path);
        // "llama" → "gemma" in the architecture value (same length keeps the file consistent).
        var text = "llama"u8.ToArray();
        int at = patched.AsSpan().IndexOf(text);
        "gemma"u8.CopyTo(patched.AsSpan(at));
        File.WriteAllBytes(path, patched);
        var e = Assert.Throws<ModelFormatException>(() => LlamaModel.LoadGguf(path));
        Assert.Contains("gemma", e.Message);
    }

    [Fact]
    public void TruncatedGgufIsRefusedClearly()
    {
        var c = RandomModel.TinyConfig();
        string path = Path.Combine(_dir, "trunc.gguf");
        TinyModelFiles.WriteGguf(RandomModel.Build(c, 1), c, path);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length - 100)]);
        var e = Assert.Throws<ModelFormatException>(() => LlamaModel.LoadGguf(path));
        Assert.Contains("truncated", e.Message);
    }
}
