using Scion.Models.Formats;
using Scion.Tensors;

namespace Scion.Models.Adapters;

/// <summary>
/// Reads and writes adapters in Hugging Face PEFT layout: <c>adapter_config.json</c> + <c>adapter_model.safetensors</c>,
/// so adapters trained elsewhere load here and adapters trained here load in PEFT, vLLM and LoRAX.
/// </summary>
public static class PeftAdapterFiles
{
    public const string ConfigFileName = "adapter_config.json";
    public const string WeightsFileName = "adapter_model.safetensors";

    public static PeftAdapter Load(string directory)
    {
        PathKind.RequireFolder(directory, "PEFT adapter folder (adapter_config.json + adapter_model.safetensors)");
        string configPath = Path.Combine(directory, ConfigFileName);
        string weightsPath = Path.Combine(directory, WeightsFileName);
        if (!File.Exists(configPath)) throw new ModelFormatException($"{directory}: no {ConfigFileName}; not a PEFT adapter folder.");
        if (!File.Exists(weightsPath))
        {
            string hint = File.Exists(Path.Combine(directory, "adapter_model.bin"))
                ? " (adapter_model.bin is a pickle, which Scion does not load; re-save with safe_serialization=True)"
                : "";
            throw new ModelFormatException($"{directory}: no {WeightsFileName}{hint}.");
        }
        var config = PeftAdapterConfig.Load(configPath);
        using var file = SafetensorsFile.Open(weightsPath);
        if (file.Tensors.Count == 0)
            throw new ModelFormatException($"{weightsPath}: holds no tensors; an adapter needs at least one lora_A/lora_B pair.");
        var pairs = ReadPairs(config, file);
        PeftAdapterChecks.CheckTargets(config, pairs, weightsPath);
        // Every rank and alpha pattern is matched here once, so one that times out fails the load, not a later request.
        foreach (var p in pairs) _ = config.ScaleFor(p.ModulePath);
        return new PeftAdapter(config, pairs, directory);
    }

    private static List<LoraTensorPair> ReadPairs(PeftAdapterConfig config, SafetensorsFile file)
    {
        var groups = new Dictionary<(int Layer, string Module), Dictionary<PeftTensorName.Part, SafetensorsTensorInfo>>();
        foreach (var t in file.Tensors)
        {
            var parsed = PeftTensorName.TryParse(t.Name)
                ?? throw new ModelFormatException(
                    $"{file.Path}: tensor '{t.Name}' is not a LoRA A/B or DoRA magnitude tensor of a decoder-layer projection; " +
                    "adapters on embeddings, the output head or other modules are not supported.");
            if (!LoraModules.IsKnown(parsed.Module))
                throw new ModelFormatException($"{file.Path}: tensor '{t.Name}' adapts unknown module '{parsed.Module}'; expected one of {string.Join(", ", LoraModules.All)}.");
            if (LoraModules.Parent(parsed.Module) != parsed.Parent)
                throw new ModelFormatException($"{file.Path}: tensor '{t.Name}': module '{parsed.Module}' belongs under '{LoraModules.Parent(parsed.Module)}', not '{parsed.Parent}'.");
            var key = (parsed.Layer, parsed.Module);
            if (!groups.TryGetValue(key, out var parts)) groups[key] = parts = [];
            if (!parts.TryAdd(parsed.Part, t))
                throw new ModelFormatException($"{file.Path}: tensors '{parts[parsed.Part].Name}' and '{t.Name}' are the same {parsed.Part} of layer {parsed.Layer} {parsed.Module}.");
        }

        var pairs = new List<LoraTensorPair>(groups.Count);
        foreach (var ((layer, module), parts) in groups.OrderBy(g => g.Key.Layer).ThenBy(g => LoraModules.Order(g.Key.Module)))
            pairs.Add(ReadPair(config, file, layer, module, parts));
        return pairs;
    }

    private static LoraTensorPair ReadPair(PeftAdapterConfig config, SafetensorsFile file, int layer, string module,
        Dictionary<PeftTensorName.Part, SafetensorsTensorInfo> parts)
    {
        string path = file.Path;
        parts.TryGetValue(PeftTensorName.Part.A, out var a);
        parts.TryGetValue(PeftTensorName.Part.B, out var b);
        parts.TryGetValue(PeftTensorName.Part.Magnitude, out var magnitude);
        if (a is null || b is null)
        {
            var present = (a ?? b ?? magnitude)!;
            throw new ModelFormatException($"{path}: tensor '{present.Name}' has no matching lora_{(a is null ? "A" : "B")} tensor for layer {layer} {module}.");
        }
        if (a.Shape.Length != 2) throw new ModelFormatException($"{path}: tensor '{a.Name}' has shape [{string.Join(", ", a.Shape)}], expected [r, in].");
        if (b.Shape.Length != 2) throw new ModelFormatException($"{path}: tensor '{b.Name}' has shape [{string.Join(", ", b.Shape)}], expected [out, r].");
        int rank = checked((int)a.Shape[0]), inputs = checked((int)a.Shape[1]), outputs = checked((int)b.Shape[0]);
        if (b.Shape[1] != rank)
            throw new ModelFormatException($"{path}: tensor '{b.Name}' has shape [{string.Join(", ", b.Shape)}] but '{a.Name}' has rank {rank}; expected [out, {rank}].");
        if (rank == 0 || inputs == 0 || outputs == 0)
            throw new ModelFormatException($"{path}: tensor '{a.Name}' / '{b.Name}' have an empty dimension.");
        string modulePath = LoraModules.ModulePath(layer, module);
        int expectedRank = config.RankFor(modulePath);
        if (rank != expectedRank)
            throw new ModelFormatException(
                $"{path}: tensor '{a.Name}' has rank {rank}, but {config.Source} gives {modulePath} rank {expectedRank} (r or rank_pattern).");

        float[]? m = null;
        if (magnitude is not null)
        {
            if (!config.UseDora)
                throw new ModelFormatException($"{path}: tensor '{magnitude.Name}' is a DoRA magnitude, but {config.Source} has use_dora false.");
            if (magnitude.ElementCount != outputs || magnitude.Shape.Length is 0 or > 2)
                throw new ModelFormatException($"{path}: tensor '{magnitude.Name}' has shape [{string.Join(", ", magnitude.Shape)}], expected [{outputs}].");
            m = Values(file, magnitude);
        }
        else if (config.UseDora)
            throw new ModelFormatException($"{path}: {config.Source} has use_dora true, but there is no lora_magnitude_vector for '{a.Name}'.");

        return new LoraTensorPair
        {
            Layer = layer, Module = module, Rank = rank, In = inputs, Out = outputs,
            A = Values(file, a),
            B = Values(file, b),
            Magnitude = m,
        };
    }

    private static float[] Values(SafetensorsFile file, SafetensorsTensorInfo tensor)
    {
        var values = file.ReadFloat32(tensor);
        PeftAdapterChecks.CheckValues(file.Path, tensor, values);
        return values;
    }

    /// <summary>
    /// Writes <c>adapter_model.safetensors</c> (fp32) and then <c>adapter_config.json</c>, each atomically; the config
    /// goes last so a folder with a config always has its matching weights.
    /// </summary>
    public static void Save(string directory, PeftAdapterConfig config, IEnumerable<LoraTensorPair> pairs)
    {
        var writer = new SafetensorsWriter();
        writer.Metadata["format"] = "pt";
        var seen = new HashSet<(int, string)>();
        foreach (var p in pairs)
        {
            p.Validate();
            if (!seen.Add((p.Layer, p.Module))) throw new ArgumentException($"Two LoRA pairs for {p.ModulePath}.", nameof(pairs));
            int rank = config.RankFor(p.ModulePath);
            if (p.Rank != rank) throw new ArgumentException($"LoRA pair {p.ModulePath} has rank {p.Rank}, but the config gives it rank {rank}.", nameof(pairs));
            if (config.UseDora != p.Magnitude is not null)
                throw new ArgumentException($"LoRA pair {p.ModulePath} {(p.Magnitude is null ? "lacks" : "has")} a DoRA magnitude, but use_dora is {config.UseDora}.", nameof(pairs));
            writer.AddFloat32(PeftTensorName.Format(p.Layer, p.Module, PeftTensorName.Part.A), [p.Rank, p.In], p.A);
            writer.AddFloat32(PeftTensorName.Format(p.Layer, p.Module, PeftTensorName.Part.B), [p.Out, p.Rank], p.B);
            if (p.Magnitude is { } m) writer.AddFloat32(PeftTensorName.Format(p.Layer, p.Module, PeftTensorName.Part.Magnitude), [p.Out], m);
        }
        Directory.CreateDirectory(directory);
        writer.Write(Path.Combine(directory, WeightsFileName));
        byte[] json = System.Text.Encoding.UTF8.GetBytes(config.ToJson());
        AtomicFile.Write(Path.Combine(directory, ConfigFileName), s => s.Write(json));
    }
}
