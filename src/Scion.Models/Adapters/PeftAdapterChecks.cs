using Scion.Models.Formats;

namespace Scion.Models.Adapters;

/// <summary>
/// Checks that a PEFT adapter's config and tensors agree with each other and with the base model, and that its
/// weights are numbers a forward can use. Each failure names the file, the field or tensor, and what disagrees:
/// an adapter that loads with part of it ignored, or with weights that turn every logit into NaN, is worse than one
/// that does not load.
/// </summary>
public static class PeftAdapterChecks
{
    /// <summary>The largest |weight| accepted; 1e38 and beyond overflow fp32 as soon as B·A is formed.</summary>
    public const float MaxWeight = 1e30f;

    /// <summary>Refuses NaN, ±Inf and absurd magnitudes, naming the tensor and the first bad value's position.</summary>
    public static void CheckValues(string path, SafetensorsTensorInfo tensor, float[] values)
    {
        for (int i = 0; i < values.Length; i++)
        {
            float v = values[i];
            if (float.IsFinite(v) && Math.Abs(v) <= MaxWeight) continue;
            long cols = tensor.Shape.Length >= 2 ? tensor.Shape[^1] : values.Length;
            string at = tensor.Shape.Length >= 2 ? $"[{i / cols}, {i % cols}]" : $"[{i}]";
            throw new ModelFormatException(
                $"{path}: tensor '{tensor.Name}' holds {v} at {at}; adapter weights must be finite and at most {MaxWeight:0e0} in magnitude.");
        }
    }

    /// <summary>
    /// Every tensor must be for a module the config targets, and every entry of target_modules (list or pattern) must
    /// name at least one module the tensors adapt: a config that says q_proj for tensors of v_proj describes some
    /// other adapter. A config without target_modules says nothing to check.
    /// </summary>
    public static void CheckTargets(PeftAdapterConfig config, IReadOnlyList<LoraTensorPair> pairs, string weightsPath)
    {
        if (config.TargetModules is null && config.TargetModulesPattern is null) return;
        foreach (var p in pairs)
            if (!config.Targets(p.Layer, p.Module))
                throw new ModelFormatException(
                    $"{weightsPath}: tensor '{PeftTensorName.Format(p.Layer, p.Module, PeftTensorName.Part.A)}' adapts {p.ModulePath}, " +
                    $"which {config.Source} does not target ({DescribeTargets(config)}).");
        if (config.TargetModules is { } list)
        {
            foreach (var target in list)
                if (!pairs.Any(p => p.ModulePath == target || p.ModulePath.EndsWith("." + target, StringComparison.Ordinal)))
                    throw new ModelFormatException(
                        $"{config.Source}: target_modules entry '{target}' names nothing {weightsPath} holds tensors for " +
                        $"(it adapts {string.Join(", ", pairs.Select(p => p.Module).Distinct().OrderBy(LoraModules.Order))}).");
        }
        else if (config.TargetModulesPattern != PeftAdapterConfig.AllLinear && pairs.Count > 0 && !pairs.Any(p => config.Targets(p.Layer, p.Module)))
            throw new ModelFormatException($"{config.Source}: target_modules pattern '{config.TargetModulesPattern}' matches no module {weightsPath} holds tensors for.");
    }

    /// <summary>layers_to_transform and every tensor must lie within the base model's layers.</summary>
    public static void CheckLayers(PeftAdapter adapter, int modelLayers, string modelSource)
    {
        var config = adapter.Config;
        foreach (int layer in config.LayersToTransform ?? [])
            if (layer >= modelLayers)
                throw new ModelFormatException(
                    $"{config.Source}: field 'layers_to_transform' names layer {layer}, but the base model {modelSource} has {modelLayers} layers (0 to {modelLayers - 1}).");
        string weights = Path.Combine(adapter.Directory, PeftAdapterFiles.WeightsFileName);
        foreach (var p in adapter.Pairs)
            if (p.Layer >= modelLayers)
                throw new ModelFormatException(
                    $"{weights}: tensor '{PeftTensorName.Format(p.Layer, p.Module, PeftTensorName.Part.A)}' is for layer {p.Layer}, " +
                    $"but the base model {modelSource} has {modelLayers} layers (0 to {modelLayers - 1}).");
    }

    private static string DescribeTargets(PeftAdapterConfig c)
    {
        string targets = c.TargetModules is { } list ? $"target_modules [{string.Join(", ", list)}]" : $"target_modules '{c.TargetModulesPattern}'";
        return c.LayersToTransform is { } layers ? $"{targets}, layers_to_transform [{string.Join(", ", layers)}]" : targets;
    }
}
