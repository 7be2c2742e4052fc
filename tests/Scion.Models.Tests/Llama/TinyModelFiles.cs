using System.Text.Json;
using Scion.Models.Formats;
using Scion.Models.Llama;
using Scion.Tensors;

namespace Scion.Models.Tests.Llama;

/// <summary>Writes an in-memory model to disk as a GGUF file or a Hugging Face folder, for format tests.</summary>
internal static class TinyModelFiles
{
    public static unsafe void WriteGguf(InMemoryTensorSource source, LlamaConfig c, string path,
        Func<string, bool>? keep = null, Func<string, long[], long[]>? reshape = null, IReadOnlyDictionary<string, object>? metadata = null)
    {
        var w = new GgufWriter();
        w.Set("general.architecture", "llama");
        w.Set("llama.embedding_length", (uint)c.Dim);
        w.Set("llama.block_count", (uint)c.Layers);
        w.Set("llama.feed_forward_length", (uint)c.FfnDim);
        w.Set("llama.attention.head_count", (uint)c.Heads);
        w.Set("llama.attention.head_count_kv", (uint)c.KvHeads);
        w.Set("llama.rope.dimension_count", (uint)c.RopeDim);
        w.Set("llama.attention.layer_norm_rms_epsilon", c.RmsEps);
        w.Set("llama.context_length", (uint)c.ContextLength);
        foreach (var (key, value) in metadata ?? new Dictionary<string, object>()) w.Set(key, value);
        foreach (var name in source.Names)
        {
            if (keep is not null && !keep(name)) continue;
            source.TryGet(name, out var view);
            var bytes = new ReadOnlySpan<byte>(view.Data, (int)view.ByteSize).ToArray();
            w.AddTensor(name, view.Type, reshape?.Invoke(name, view.Shape) ?? view.Shape, bytes);
        }
        w.Write(path);
    }

    /// <summary>HF layout: PyTorch-order shapes, HF names, Q/K rows back in rotate_half order.</summary>
    public static unsafe void WriteHf(InMemoryTensorSource source, LlamaConfig c, string folder)
    {
        Directory.CreateDirectory(folder);
        var st = new SafetensorsWriter();
        foreach (var name in source.Names)
        {
            source.TryGet(name, out var view);
            var floats = view.ToFloats();
            string hfName = HfName(name);
            bool rotary = name.EndsWith("attn_q.weight", StringComparison.Ordinal) || name.EndsWith("attn_k.weight", StringComparison.Ordinal);
            if (rotary) floats = RotaryPermutation.ToHfOrder<float>(floats, (int)view.Cols, c.HeadDim);
            st.AddFloat32(hfName, view.Shape.Reverse().ToArray(), floats);
        }
        st.Write(Path.Combine(folder, "model.safetensors"));
        File.WriteAllText(Path.Combine(folder, "config.json"), JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["architectures"] = new[] { "LlamaForCausalLM" }, ["model_type"] = "llama", ["hidden_size"] = c.Dim,
            ["intermediate_size"] = c.FfnDim, ["num_hidden_layers"] = c.Layers, ["num_attention_heads"] = c.Heads,
            ["num_key_value_heads"] = c.KvHeads, ["rms_norm_eps"] = c.RmsEps, ["rope_theta"] = c.RopeTheta,
            ["max_position_embeddings"] = c.ContextLength, ["vocab_size"] = c.Vocab, ["tie_word_embeddings"] = c.TiedEmbeddings,
            ["attention_bias"] = c.QkvBias,
            ["hidden_act"] = "silu",
        }));
    }

    private static string HfName(string slot)
    {
        if (!slot.StartsWith("blk.", StringComparison.Ordinal)) return TensorNames.GgufToHf[slot];
        int dot = slot.IndexOf('.', 4);
        int layer = int.Parse(slot.AsSpan(4, dot - 4));
        return TensorNames.Layer(TensorNames.GgufToHf["blk.{0}" + slot[dot..]], layer);
    }
}
