using Scion.Models.Formats;
using Scion.Models.KvCache;
using Scion.Models.Llama;
using Scion.Models.Loading;
using Scion.Models.Quantization;
using Scion.Tensors;
using Scion.Testing;
using static Scion.Cli.Tests.QuantizeTestSupport;

namespace Scion.Cli.Tests;

public class CreateCommandTests
{
    [Fact]
    public void TinyPresetLoadsRunsAndTokenizesAnything()
    {
        string dir = TempDir();
        string path = Path.Combine(dir, "tiny.gguf");
        RunOk("create", "--config", "tiny", "--type", "Q8_0", "--output", path, "--seed", "7");
        using var loaded = ModelLoader.Load(path);
        var c = loaded.Model.Config;
        Assert.Equal(ModelPresets.All["tiny"].Dim, c.Dim);
        var tokenizer = loaded.RequireTokenizer();
        Assert.Equal(c.Vocab, tokenizer.VocabSize);
        const string text = "Grüße, 世界! \t 123";
        var ids = tokenizer.Encode(text);
        Assert.Equal(1, ids[0]); // BOS
        Assert.Equal(text, tokenizer.Decode(ids.AsSpan(1)));
        var logits = loaded.Model.Forward(new ForwardBatch().AddSequence(0, ids, 0), new PagedKvCache(c, 64));
        Assert.Equal(c.Vocab, logits.Length);
        Assert.All(logits, v => Assert.True(float.IsFinite(v)));
        var text2 = RunOk("generate", "--model", path, "--prompt", "hi", "--max-tokens", "4", "--greedy");
        Assert.StartsWith("hi", text2);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void SameSeedSameBytesOtherSeedOtherBytes()
    {
        string dir = TempDir();
        string a = Path.Combine(dir, "a.gguf"), b = Path.Combine(dir, "b.gguf"), c = Path.Combine(dir, "c.gguf");
        RunOk("create", "--config", "tiny", "--type", "Q4_K", "--output", a, "--seed", "5");
        RunOk("create", "--config", "tiny", "--type", "Q4_K", "--output", b, "--seed", "5");
        RunOk("create", "--config", "tiny", "--type", "Q4_K", "--output", c, "--seed", "6");
        Assert.Equal(File.ReadAllBytes(a), File.ReadAllBytes(b));
        Assert.NotEqual(File.ReadAllBytes(a), File.ReadAllBytes(c));
        Directory.Delete(dir, true);
    }

    [Fact]
    public void StreamedFileHoldsTheSameWeightsAsRandomModelBuild()
    {
        string dir = TempDir();
        string path = Path.Combine(dir, "f32.gguf");
        RunOk("create", "--config", "tiny", "--type", "F32", "--output", path, "--seed", "11");
        var config = ModelPresets.All["tiny"];
        using var built = new LlamaModel(config, RandomModel.Build(config, 11));
        using var file = LlamaModel.LoadGguf(path);
        int[] tokens = [1, 100, 200, 300, 7];
        var expected = built.Forward(new ForwardBatch().AddSequence(0, tokens, 0, allLogits: true), new PagedKvCache(config, 16));
        var actual = file.Forward(new ForwardBatch().AddSequence(0, tokens, 0, allLogits: true), new PagedKvCache(file.Config, 16));
        Assert.Equal(expected, actual);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void ConfigFileWithTokenizerFromAnotherGguf()
    {
        string dir = TempDir();
        string config = Path.Combine(dir, "config.json");
        File.WriteAllText(config, """
            {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 32, "intermediate_size": 64,
             "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 32000,
             "max_position_embeddings": 128, "rms_norm_eps": 1e-5, "hidden_act": "silu"}
            """);
        string path = Path.Combine(dir, "m.gguf");
        string vocab = SharedData.Path("tokenizers", "ggml-vocab-llama-spm.gguf");
        RunOk("create", "--config", config, "--type", "F16", "--output", path, "--tokenizer", vocab);
        using var loaded = ModelLoader.Load(path);
        Assert.Equal(32000, loaded.RequireTokenizer().VocabSize);
        Assert.Equal([1, 15043, 3186], loaded.RequireTokenizer().Encode("Hello world"));
        Assert.Equal(GgmlType.F16, TensorTypes(path)["blk.0.attn_q.weight"].Type);

        // A tokenizer whose size differs from the model's vocabulary is refused (llama.cpp needs them equal).
        var (code, _, err) = Run("create", "--config", "tiny", "--output", Path.Combine(dir, "x.gguf"), "--tokenizer", vocab);
        Assert.Equal(1, code);
        Assert.Contains("32000", err);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void UnknownPresetIsAUsageError()
    {
        var (code, _, err) = Run("create", "--config", "no-such-model", "--output", Path.Combine(TempDir(), "x.gguf"));
        Assert.Equal(2, code);
        Assert.Contains("tinyllama-1.1b", err);
    }
}
