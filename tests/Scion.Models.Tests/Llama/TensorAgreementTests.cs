using System.Text.Json.Nodes;
using Scion.Models.Formats;
using Scion.Models.Llama;

namespace Scion.Models.Tests.Llama;

/// <summary>
/// A configuration whose layer count or attention-bias setting disagrees with the tensors present is refused naming
/// the field and a tensor; before, extra layers were ignored and biases applied or dropped by presence alone.
/// </summary>
public sealed class TensorAgreementTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("scion-agreement-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Hf(LlamaConfig c, Action<JsonObject>? editConfig = null, Func<string, bool>? keep = null)
    {
        string folder = Path.Combine(_dir, "hf-" + Guid.NewGuid().ToString("N"));
        var source = RandomModel.Build(c, 1);
        TinyModelFiles.WriteHf(source, c, folder);
        string configPath = Path.Combine(folder, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!.AsObject();
        editConfig?.Invoke(config);
        File.WriteAllText(configPath, config.ToJsonString());
        if (keep is not null)
        {
            // Rewrite the weights without the dropped tensors.
            var w = new SafetensorsWriter();
            using (var st = SafetensorsFile.Open(Path.Combine(folder, "model.safetensors")))
                foreach (var t in st.Tensors.Where(t => keep(t.Name))) w.AddTensor(t.Name, t.DType, t.Shape, st.TensorBytes(t).ToArray());
            w.Write(Path.Combine(folder, "model.safetensors"));
        }
        return folder;
    }

    private static string Refused(Action load) => Assert.Throws<ModelFormatException>(load).Message;

    [Fact]
    public void MatchingHfFolderLoads()
    {
        using var m = LlamaModel.LoadHuggingFace(Hf(RandomModel.TinyConfig()));
        using var biased = LlamaModel.LoadHuggingFace(Hf(RandomModel.TinyConfig() with { QkvBias = true }));
        Assert.True(biased.Config.QkvBias);
    }

    [Fact]
    public void HfLayerCountThatDisagreesIsRefused()
    {
        var c = RandomModel.TinyConfig();
        Assert.Equal(2, c.Layers);
        string fewer = Refused(() => LlamaModel.LoadHuggingFace(Hf(c, cfg => cfg["num_hidden_layers"] = 1)).Dispose());
        Assert.Contains("'num_hidden_layers' is 1", fewer);
        Assert.Contains("belongs to layer 1", fewer);
        Assert.Contains("model.layers.1.", fewer);

        string more = Refused(() => LlamaModel.LoadHuggingFace(Hf(c, cfg => cfg["num_hidden_layers"] = 3)).Dispose());
        Assert.Contains("'num_hidden_layers' is 3, but no tensor belongs to layer 2", more);
        Assert.Contains("layers 0 to 1", more);

        // A whole layer missing from the middle is named as such, not as its first missing tensor.
        string gap = Refused(() => LlamaModel.LoadHuggingFace(Hf(c with { Layers = 3 }, keep: n => !n.StartsWith("model.layers.1.", StringComparison.Ordinal))).Dispose());
        Assert.Contains("no tensor belongs to layer 1 (the tensors cover layers 0, 2)", gap);
    }

    [Fact]
    public void HfAttentionBiasThatDisagreesIsRefused()
    {
        var plain = RandomModel.TinyConfig();
        string missing = Refused(() => LlamaModel.LoadHuggingFace(Hf(plain, cfg => cfg["attention_bias"] = true)).Dispose());
        Assert.Contains("field 'attention_bias' is true, but tensor 'model.layers.0.self_attn.q_proj.bias' is missing", missing);

        var biased = plain with { QkvBias = true };
        string present = Refused(() => LlamaModel.LoadHuggingFace(Hf(biased, cfg => cfg["attention_bias"] = false)).Dispose());
        Assert.Contains("field 'attention_bias' is false, but tensor 'model.layers.0.self_attn.q_proj.bias' is present", present);

        string partial = Refused(() => LlamaModel.LoadHuggingFace(Hf(biased, keep: n => n != "model.layers.1.self_attn.v_proj.bias")).Dispose());
        Assert.Contains("'model.layers.1.self_attn.v_proj.bias' is missing", partial);
    }

    [Fact]
    public void HfOutputProjectionBiasIsRefusedNotDropped()
    {
        var c = RandomModel.TinyConfig() with { QkvBias = true };
        string folder = Hf(c);
        string weights = Path.Combine(folder, "model.safetensors");
        var w = new SafetensorsWriter();
        using (var st = SafetensorsFile.Open(weights))
            foreach (var t in st.Tensors) w.AddTensor(t.Name, t.DType, t.Shape, st.TensorBytes(t).ToArray());
        w.AddFloat32("model.layers.0.self_attn.o_proj.bias", [c.Dim], new float[c.Dim]);
        w.Write(weights);
        var e = Assert.Throws<ModelFormatException>(() => LlamaModel.LoadHuggingFace(folder).Dispose());
        Assert.Contains("'model.layers.0.self_attn.o_proj.bias' is an output-projection bias", e.Message);
    }

    [Fact]
    public void GgufBlockCountAndBiasesThatDisagreeAreRefused()
    {
        var c = RandomModel.TinyConfig();
        string path = Path.Combine(_dir, "m.gguf");
        TinyModelFiles.WriteGguf(RandomModel.Build(c, 1), c, path, metadata: new Dictionary<string, object> { ["llama.block_count"] = 1u });
        string fewer = Refused(() => LlamaModel.LoadGguf(path).Dispose());
        Assert.Contains("metadata 'llama.block_count' is 1, but tensor 'blk.1.", fewer);
        Assert.Contains(path, fewer);

        TinyModelFiles.WriteGguf(RandomModel.Build(c, 1), c, path, metadata: new Dictionary<string, object> { ["llama.block_count"] = 3u });
        Assert.Contains("no tensor belongs to layer 2", Refused(() => LlamaModel.LoadGguf(path).Dispose()));

        var biased = c with { QkvBias = true };
        TinyModelFiles.WriteGguf(RandomModel.Build(biased, 1), biased, path, keep: n => n != "blk.1.attn_k.bias");
        string partial = Refused(() => LlamaModel.LoadGguf(path).Dispose());
        Assert.Contains("tensor 'blk.0.attn_q.bias' is present", partial);
        Assert.Contains("'blk.1.attn_k.bias' is missing", partial);

        TinyModelFiles.WriteGguf(RandomModel.Build(biased, 1), biased, path, keep: n => !n.StartsWith("blk.0.attn_", StringComparison.Ordinal) || !n.EndsWith(".bias", StringComparison.Ordinal));
        Assert.Contains("'blk.1.attn_q.bias' is present", Refused(() => LlamaModel.LoadGguf(path).Dispose()));
    }
}
