using Scion.Models.Formats;
using Scion.Tensors;
using Scion.Testing;

namespace Scion.Models.Tests.Formats;

public class HfModelFolderTests
{
    [Fact]
    public void OpensHfGoldenTiny()
    {
        using var m = HfModelFolder.Open(SharedData.Path("golden", "hf-golden-tiny"));
        var c = m.Config;
        Assert.Equal(["LlamaForCausalLM"], c.Architectures);
        Assert.Equal("llama", c.ModelType);
        Assert.Equal((64, 192, 2, 4, 2), (c.HiddenSize, c.IntermediateSize, c.NumHiddenLayers, c.NumAttentionHeads, c.NumKeyValueHeads));
        Assert.Null(c.HeadDim);
        Assert.Equal(16, c.HeadDimOrDefault);
        Assert.Equal(9.999999747378752e-06, c.RmsNormEps);
        Assert.Equal(10000.0, c.RopeTheta);
        Assert.Null(c.RopeScaling);
        Assert.Equal(256, c.MaxPositionEmbeddings);
        Assert.Equal(32000, c.VocabSize);
        Assert.False(c.TieWordEmbeddings);
        Assert.Equal("float16", c.TorchDtype);
        Assert.Equal(1, c.BosTokenId);
        Assert.Equal([2], c.EosTokenIds);
        Assert.Equal("silu", c.HiddenAct);

        var expected = new Dictionary<string, long[]>
        {
            ["model.embed_tokens.weight"] = [32000, 64],
            ["lm_head.weight"] = [32000, 64],
            ["model.norm.weight"] = [64],
        };
        for (int l = 0; l < 2; l++)
        {
            string p = $"model.layers.{l}.";
            expected[p + "input_layernorm.weight"] = [64];
            expected[p + "post_attention_layernorm.weight"] = [64];
            expected[p + "self_attn.q_proj.weight"] = [64, 64];
            expected[p + "self_attn.k_proj.weight"] = [32, 64];
            expected[p + "self_attn.v_proj.weight"] = [32, 64];
            expected[p + "self_attn.o_proj.weight"] = [64, 64];
            expected[p + "mlp.gate_proj.weight"] = [192, 64];
            expected[p + "mlp.up_proj.weight"] = [192, 64];
            expected[p + "mlp.down_proj.weight"] = [64, 192];
        }
        Assert.Equal(expected.Keys.Order(), m.TensorNames.Order());
        foreach (var (name, shape) in expected)
        {
            var t = m.RequireTensor(name);
            Assert.Equal(shape, t.Shape);
            // Matrices are F16; the norm vectors were kept in F32 by the exporter.
            Assert.Equal(shape.Length == 1 ? GgmlType.F32 : GgmlType.F16, t.Type);
        }
        var e = Assert.Throws<ModelFormatException>(() => m.RequireTensor("model.layers.2.mlp.up_proj.weight"));
        Assert.Contains("model.layers.2.mlp.up_proj.weight", e.Message);
    }

    [Fact]
    public void ShardedFolderFindsTensorsAcrossShardsAndReportsMissingShard()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("config.json"), MinimalConfig);
        new SafetensorsWriter().AddFloat32("a.weight", [2], [1, 2]).Write(dir.File("model-00001-of-00002.safetensors"));
        new SafetensorsWriter().AddFloat32("b.weight", [1], [3]).Write(dir.File("model-00002-of-00002.safetensors"));
        File.WriteAllText(dir.File("model.safetensors.index.json"),
            """{"metadata":{"total_size":12},"weight_map":{"a.weight":"model-00001-of-00002.safetensors","b.weight":"model-00002-of-00002.safetensors"}}""");
        using (var m = HfModelFolder.Open(dir.Path))
        {
            Assert.Equal(2, m.Shards.Count);
            Assert.Equal(new float[] { 1, 2 }, m.RequireTensor("a.weight").ReadFloat32());
            Assert.Equal(new float[] { 3 }, m.RequireTensor("b.weight").ReadFloat32());
            Assert.EndsWith("model-00002-of-00002.safetensors", m.RequireTensor("b.weight").File.Path);
        }

        File.Delete(dir.File("model-00002-of-00002.safetensors"));
        var e = Assert.Throws<ModelFormatException>(() => HfModelFolder.Open(dir.Path).Dispose());
        Assert.Contains("model-00002-of-00002.safetensors", e.Message);
        Assert.Contains("b.weight", e.Message);
        Assert.Contains("missing", e.Message);

        File.WriteAllText(dir.File("model.safetensors.index.json"), """{"weight_map":{"c.weight":"model-00001-of-00002.safetensors"}}""");
        e = Assert.Throws<ModelFormatException>(() => HfModelFolder.Open(dir.Path).Dispose());
        Assert.Contains("'c.weight'", e.Message);

        File.WriteAllText(dir.File("model.safetensors.index.json"), """{"weight_map":{"a.weight":"../x.safetensors"}}""");
        Assert.Throws<ModelFormatException>(() => HfModelFolder.Open(dir.Path).Dispose());
    }

    [Fact]
    public void FolderWithoutWeightsOrConfigIsRefused()
    {
        using var dir = new TempDirectory();
        var e = Assert.Throws<ModelFormatException>(() => HfModelFolder.Open(dir.Path));
        Assert.Contains("config.json", e.Message);
        File.WriteAllText(dir.File("config.json"), MinimalConfig);
        e = Assert.Throws<ModelFormatException>(() => HfModelFolder.Open(dir.Path));
        Assert.Contains("model.safetensors", e.Message);
    }

    [Fact]
    public void ConfigDefaultsOptionalFieldsAndParsesRopeScaling()
    {
        var c = HfConfig.Parse("""
            {"model_type":"llama","hidden_size":4096,"intermediate_size":14336,"num_hidden_layers":32,
             "num_attention_heads":32,"num_key_value_heads":8,"vocab_size":128256,"rope_theta":500000.0,
             "rope_scaling":{"factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":8192,"rope_type":"llama3"},
             "eos_token_id":[128001,128008,128009],"tie_word_embeddings":true,"head_dim":128,"sliding_window":null,
             "max_position_embeddings":131072.0}
            """, "llama3.json");
        Assert.Equal(500000.0, c.RopeTheta);
        Assert.Equal(new HfRopeScaling { RopeType = "llama3", Factor = 8, LowFreqFactor = 1, HighFreqFactor = 4, OriginalMaxPositionEmbeddings = 8192 }, c.RopeScaling);
        Assert.Equal([128001, 128008, 128009], c.EosTokenIds);
        Assert.True(c.TieWordEmbeddings);
        Assert.Equal(128, c.HeadDim);
        Assert.Null(c.SlidingWindow);
        Assert.Equal(131072, c.MaxPositionEmbeddings);
        Assert.Null(c.BosTokenId);
        Assert.Equal(1e-6, c.RmsNormEps);

        var noKv = HfConfig.Parse(MinimalConfig.Replace("\"num_key_value_heads\":2,", "").Replace("}", ",\"rope_scaling\":{\"type\":\"linear\",\"factor\":2}}"), "x");
        Assert.Equal(4, noKv.NumKeyValueHeads);
        Assert.Equal(10000, noKv.RopeTheta);
        Assert.Equal("linear", noKv.RopeScaling!.RopeType);
    }

    [Theory]
    [InlineData("\"hidden_size\":8,", "", "'hidden_size' is missing")]
    [InlineData("\"vocab_size\":16", "\"vocab_size\":\"16\"", "'vocab_size' should be an integer")]
    [InlineData("\"num_key_value_heads\":2", "\"num_key_value_heads\":3", "not a multiple of num_key_value_heads 3")]
    [InlineData("\"hidden_size\":8", "\"hidden_size\":-8", "'hidden_size' is -8")]
    [InlineData("\"vocab_size\":16", "\"vocab_size\":16,\"eos_token_id\":\"x\"", "'eos_token_id'")]
    [InlineData("\"vocab_size\":16", "\"vocab_size\":16,\"eos_token_id\":[2,16]", "'eos_token_id' is 16, outside the vocabulary (vocab_size 16")]
    [InlineData("\"vocab_size\":16", "\"vocab_size\":16,\"bos_token_id\":-1", "'bos_token_id' is -1, outside the vocabulary")]
    public void ConfigErrorsNameTheFieldAndFile(string find, string replace, string expected)
    {
        using var dir = new TempDirectory();
        string path = dir.File("config.json");
        File.WriteAllText(path, MinimalConfig.Replace(find, replace));
        var e = Assert.Throws<ModelFormatException>(() => HfConfig.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(expected, e.Message);
    }

    private const string MinimalConfig =
        """{"model_type":"llama","hidden_size":8,"intermediate_size":16,"num_hidden_layers":1,"num_attention_heads":4,"num_key_value_heads":2,"vocab_size":16}""";
}
