using System.Text.Json;
using Scion.Models.Adapters;
using Scion.Models.Formats;
using Scion.Models.Llama;
using Scion.Models.Loading;
using Scion.Models.Quantization;
using Scion.Models.Tokenization;
using Scion.Tensors;

namespace Scion.Training.Merge;

/// <summary>
/// Folds a PEFT adapter into the base weights: W' = W + scale·B A per adapted projection (B in the base's row order),
/// and for DoRA W' = (m / ‖W + scale·B A‖) ⊙ (W + scale·B A) row by row. Rows are dequantized, merged and
/// re-quantized one at a time, so only one fp32 row (plus the output tensor's bytes) is held per matrix.
/// </summary>
public static class AdapterMerge
{
    /// <summary>Where a merge writes: a GGUF file, or a Hugging Face folder (config.json + model.safetensors).</summary>
    public static bool IsFolderOutput(string output) =>
        output.EndsWith('/') || output.EndsWith(Path.DirectorySeparatorChar) || Directory.Exists(output);

    /// <summary>
    /// A GGUF with the base's metadata and tensor order; every tensor keeps its type unless <paramref name="type"/>
    /// is given, which then applies to every matrix (2-D tensor) whose rows are whole blocks of it; other matrices
    /// fall back as `quantize` does (<see cref="QuantizationMix.FitRowLength"/>) and carry a note saying so.
    /// Needs a GGUF base (its metadata carries the tokenizer). Returns every tensor as written.
    /// </summary>
    /// <param name="progress">called once per tensor as it is written, with its index (from 1), the count and the tensor.</param>
    public static unsafe IReadOnlyList<ExportedTensor> WriteGguf(LlamaModel model, PeftAdapter peft, string output, GgmlType? type = null,
        Action<int, int, ExportedTensor>? progress = null)
    {
        string basePath = model.Source.Path;
        if (model.GgufMetadata is null || !File.Exists(basePath))
            throw new NotSupportedException($"{basePath}: merging into a GGUF file needs a GGUF base (its metadata and tokenizer are copied); write a Hugging Face folder instead (an output path ending in '/').");
        using var gguf = GgufFile.Open(basePath);
        if (type is { } t && !Quantize.CanQuantizeTo(t)) throw new NotSupportedException($"Cannot write tensors as {t}.");
        var adapter = AdapterLoader.FromPeft(peft, model, "merge");
        var bySlot = SlotNames(model.Config, adapter);
        var writer = new GgufWriter();
        foreach (var kv in gguf.Metadata.Values) writer.Set(kv.Key, kv.Value);
        var written = new List<ExportedTensor>();
        int count = gguf.Tensors.Count;
        foreach (var info in gguf.Tensors)
        {
            bool matrix = info.Shape.Length >= 2 && info.Shape.Skip(2).All(d => d == 1);
            string? note = null;
            var outType = matrix && type is { } forced ? QuantizationMix.FitRowLength(forced, info.Cols, out note) : info.Type;
            var exported = new ExportedTensor(info.Name, (long[])info.Shape.Clone(), outType, note);
            written.Add(exported);
            int index = written.Count;
            if (bySlot.TryGetValue(info.Name, out var module) || (matrix && outType != info.Type))
            {
                var w = new WeightMatrix(gguf.TensorData(info), info.Type, checked((int)info.Rows), checked((int)info.Cols));
                writer.AddTensor(info.Name, outType, info.Shape, s =>
                {
                    progress?.Invoke(index, count, exported);
                    s.Write(MergedBytes(w, module, outType));
                });
            }
            else
            {
                writer.AddTensor(info.Name, info.Type, info.Shape, s =>
                {
                    progress?.Invoke(index, count, exported);
                    s.Write(gguf.TensorBytes(info));
                });
            }
        }
        writer.Write(output);
        return written;
    }

    /// <summary>
    /// A Hugging Face folder as <see cref="WriteHuggingFace(LlamaModel, PeftAdapter, string, GgmlType?)"/>, with the
    /// loaded model's tokenizer and chat template written as tokenizer files when the base is not an HF folder
    /// (a llama2.c base's tokenizer.bin becomes tokenizer.json too).
    /// </summary>
    /// <param name="progress">called once per tensor before it is merged, with its index (from 1), the count and the tensor
    /// (HF name and shape); an exception from it (Ctrl-C) stops the merge before anything is written.</param>
    public static IReadOnlyList<ExportedTensor> WriteHuggingFace(LoadedModel loaded, PeftAdapter peft, string folder, GgmlType? type = null,
        Action<int, int, ExportedTensor>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(loaded);
        IReadOnlyList<ExportedTensor> written = [];
        WriteFolder(folder, temp =>
        {
            written = WriteWeights(loaded.Model, peft, temp, type, loaded.Tokenizer, progress);
            WriteTokenizerFiles(loaded.Model, loaded.Tokenizer, loaded.ChatTemplate, temp);
        });
        return written;
    }

    /// <summary>
    /// A Hugging Face folder: config.json (Llama/Qwen2 fields) and model.safetensors in HF naming and row order
    /// (q/k rows of an interleaved GGUF base permuted back), as F32, F16 or BF16 (default F32), and the tokenizer:
    /// an HF base's tokenizer files are copied, a GGUF base's tokenizer and chat template are written as
    /// tokenizer.json, tokenizer_config.json and generation_config.json, so the folder loads on its own.
    /// </summary>
    public static IReadOnlyList<ExportedTensor> WriteHuggingFace(LlamaModel model, PeftAdapter peft, string folder, GgmlType? type = null,
        Action<int, int, ExportedTensor>? progress = null)
    {
        var md = model.GgufMetadata;
        var tokenizer = md is not null && md.Contains("tokenizer.ggml.model") ? Tokenizer.FromGguf(md) : null;
        IReadOnlyList<ExportedTensor> written = [];
        WriteFolder(folder, temp =>
        {
            written = WriteWeights(model, peft, temp, type, tokenizer, progress);
            WriteTokenizerFiles(model, tokenizer, md?.GetString("tokenizer.chat_template"), temp);
        });
        return written;
    }

    /// <summary>
    /// The folder is built in a temporary sibling and renamed into place as one, so a stopped or failed merge leaves
    /// no half-written model that would load; into an existing non-empty folder (--force) the files are moved one by
    /// one, config.json last, so the weights it describes are always there before it.
    /// </summary>
    private static void WriteFolder(string folder, Action<string> build)
    {
        AtomicFolder.Write(folder, build, ExistingFolder.MergeInto, HfModelFolder.ConfigFileName);
        RemoveStaleShards(folder);
    }

    private static void WriteTokenizerFiles(LlamaModel model, Tokenizer? tokenizer, string? chatTemplate, string folder)
    {
        if (Directory.Exists(model.Source.Path))
        {
            foreach (var name in new[] { "tokenizer.json", "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json" })
            {
                string src = Path.Combine(model.Source.Path, name);
                if (File.Exists(src)) File.Copy(src, Path.Combine(folder, name), overwrite: true);
            }
            return;
        }
        if (tokenizer is not null)
            HuggingFaceTokenizerFiles.Write(folder, tokenizer, model.GgufMetadata, chatTemplate, model.Config.ContextLength);
    }

    private static IReadOnlyList<ExportedTensor> WriteWeights(LlamaModel model, PeftAdapter peft, string folder, GgmlType? type,
        Tokenizer? tokenizer, Action<int, int, ExportedTensor>? progress)
    {
        var outType = type ?? GgmlType.F32;
        if (outType is not (GgmlType.F32 or GgmlType.F16 or GgmlType.BF16))
            throw new NotSupportedException($"A Hugging Face folder holds F32, F16 or BF16 tensors, not {outType}.");
        var c = model.Config;
        var adapter = AdapterLoader.FromPeft(peft, model, "merge");
        var bySlot = SlotNames(c, adapter);
        bool permute = c.RopeStyle == RopeStyle.Interleaved;
        // Listed first so progress knows the count.
        var tensors = new List<(string SlotPattern, string Slot, string Hf, TensorView View)>();
        foreach (var (slotPattern, hfPattern) in TensorNames.GgufToHf)
        {
            bool perLayer = slotPattern.Contains("{0}", StringComparison.Ordinal);
            for (int l = 0; l < (perLayer ? c.Layers : 1); l++)
            {
                string slot = TensorNames.Layer(slotPattern, l), hf = TensorNames.Layer(hfPattern, l);
                if (slot == TensorNames.Output && c.TiedEmbeddings) continue;
                if (model.Source.TryGet(slot, out var view)) tensors.Add((slotPattern, slot, hf, view));
            }
        }
        var writer = new SafetensorsWriter();
        writer.Metadata["format"] = "pt";
        var written = new List<ExportedTensor>(tensors.Count);
        foreach (var (slotPattern, slot, hf, view) in tensors)
        {
            long[] shape = view.Shape.Length == 1 || view.Rows == 1 ? [view.Cols] : [view.Rows, view.Cols];
            var exported = new ExportedTensor(hf, shape, outType, null);
            written.Add(exported);
            progress?.Invoke(written.Count, tensors.Count, exported);
            var w = view.AsMatrix();
            bySlot.TryGetValue(slot, out var module);
            byte[] bytes = MergedBytes(w, module, outType);
            bool rotary = permute && (slotPattern == TensorNames.AttnQ || slotPattern == TensorNames.AttnK
                || slotPattern == TensorNames.AttnQBias || slotPattern == TensorNames.AttnKBias);
            if (rotary)
            {
                // Matrix: permute whole rows; bias (a vector over the outputs): permute single elements.
                int rowLength = shape.Length == 1 ? (int)GgmlTypeInfo.RowBytes(outType, 1) : bytes.Length / (int)view.Rows;
                bytes = RotaryPermutation.ToHfOrder<byte>(bytes, rowLength, c.HeadDim);
            }
            writer.AddTensor(hf, outType, shape, bytes);
        }
        writer.Write(Path.Combine(folder, HfModelFolder.SingleFileName));
        byte[] json = ConfigJson(c, outType, tokenizer);
        AtomicFile.Write(Path.Combine(folder, HfModelFolder.ConfigFileName), s => s.Write(json));
        return written;
    }

    /// <summary>
    /// A folder written over (--force) may hold an earlier sharded model: its index would take precedence over the
    /// new single file (loaders read the index first) and point at the old shards. Removes the index, then the
    /// shard files it names, once the new model.safetensors and config.json are in place; names that are not plain .safetensors files
    /// of this folder are left alone. An index that cannot be read is removed as well (it would break loading).
    /// </summary>
    private static void RemoveStaleShards(string folder)
    {
        string index = Path.Combine(folder, HfModelFolder.IndexFileName);
        if (!File.Exists(index)) return;
        var shards = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(index));
            if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("weight_map", out var map) && map.ValueKind == JsonValueKind.Object)
                foreach (var p in map.EnumerateObject())
                    if (p.Value.ValueKind == JsonValueKind.String && p.Value.GetString() is { } name
                        && name == Path.GetFileName(name) && name.EndsWith(".safetensors", StringComparison.Ordinal)
                        && !name.Equals(HfModelFolder.SingleFileName, StringComparison.OrdinalIgnoreCase)) // the new file, on any file system
                        shards.Add(name);
        }
        catch (JsonException)
        {
        }
        File.Delete(index);
        foreach (var name in shards) File.Delete(Path.Combine(folder, name));
    }

    private static Dictionary<string, LoraModule> SlotNames(LlamaConfig c, LoraAdapter adapter)
    {
        var map = new Dictionary<string, LoraModule>(StringComparer.Ordinal);
        string[] patterns = [TensorNames.AttnQ, TensorNames.AttnK, TensorNames.AttnV, TensorNames.AttnOutput, TensorNames.FfnGate, TensorNames.FfnUp, TensorNames.FfnDown];
        foreach (var (layer, slot, module) in adapter.Modules()) map[TensorNames.Layer(patterns[(int)slot], layer)] = module;
        return map;
    }

    /// <summary>Stored bytes of W (+ the adapter's ΔW) as <paramref name="type"/>, row by row.</summary>
    private static byte[] MergedBytes(WeightMatrix w, LoraModule? m, GgmlType type)
    {
        long rowBytes = GgmlTypeInfo.RowBytes(type, w.Cols);
        var result = new byte[checked(rowBytes * w.Rows)];
        Parallel.For(0, w.Rows, () => new float[w.Cols], (o, _, row) =>
        {
            Dequantize.Row(w.Type, w.RowSpan(o), row);
            if (m is not null)
            {
                for (int j = 0; j < m.Rank; j++) Ops.Axpy(m.Scale * m.B[o * m.Rank + j], m.A.AsSpan(j * m.In, m.In), row);
                if (m.DoraFactor is { } f) Ops.Scale(row, f[o]);
            }
            Quantize.Row(type, row, result.AsSpan((int)(o * rowBytes), (int)rowBytes));
            return row;
        }, _ => { });
        return result;
    }

    /// <summary>config.json; with the tokenizer known, its BOS/EOS ids too (transformers' defaults, 1 and 2, fit only Llama 2).</summary>
    private static byte[] ConfigJson(LlamaConfig c, GgmlType type, Tokenizer? tokenizer)
    {
        bool qwen = c.Architecture == "qwen2";
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteStartArray("architectures");
            w.WriteStringValue(qwen ? "Qwen2ForCausalLM" : "LlamaForCausalLM");
            w.WriteEndArray();
            w.WriteString("model_type", qwen ? "qwen2" : "llama");
            w.WriteNumber("hidden_size", c.Dim);
            w.WriteNumber("intermediate_size", c.FfnDim);
            w.WriteNumber("num_hidden_layers", c.Layers);
            w.WriteNumber("num_attention_heads", c.Heads);
            w.WriteNumber("num_key_value_heads", c.KvHeads);
            w.WriteNumber("head_dim", c.HeadDim);
            w.WriteNumber("rms_norm_eps", c.RmsEps);
            w.WriteNumber("rope_theta", c.RopeTheta);
            w.WriteNumber("max_position_embeddings", c.ContextLength);
            w.WriteNumber("vocab_size", c.Vocab);
            w.WriteBoolean("tie_word_embeddings", c.TiedEmbeddings);
            w.WriteBoolean("attention_bias", c.QkvBias);
            w.WriteString("hidden_act", "silu");
            w.WriteString("torch_dtype", type switch { GgmlType.F16 => "float16", GgmlType.BF16 => "bfloat16", _ => "float32" });
            if (tokenizer?.BosId >= 0) w.WriteNumber("bos_token_id", tokenizer.BosId);
            if (tokenizer?.EosId >= 0) w.WriteNumber("eos_token_id", tokenizer.EosId);
            if (c.RopeScaling is { } s)
            {
                w.WriteStartObject("rope_scaling");
                w.WriteString("rope_type", s.Type);
                w.WriteNumber("factor", s.Factor);
                if (s.Type == "llama3")
                {
                    w.WriteNumber("low_freq_factor", s.LowFreqFactor);
                    w.WriteNumber("high_freq_factor", s.HighFreqFactor);
                    w.WriteNumber("original_max_position_embeddings", s.OriginalContext);
                }
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }
}
