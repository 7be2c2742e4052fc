using System.Text.Json;
using System.Text.RegularExpressions;
using Scion.Models.Formats;

namespace Scion.Models.Adapters;

/// <summary>
/// The parts of a PEFT <c>adapter_config.json</c> that a LoRA/DoRA adapter for a Llama model needs. Loading refuses
/// settings whose effect Scion does not implement (other PEFT types, fan_in_fan_out, trained biases,
/// modules_to_save, layer_replication), so an adapter never loads with part of it silently ignored.
/// </summary>
public sealed record PeftAdapterConfig
{
    public const string AllLinear = "all-linear";
    /// <summary>The largest scale (alpha / r) accepted: beyond it B·A overflows fp32 for any non-trivial weights.</summary>
    public const double MaxScale = 1e30;

    public string PeftType { get; init; } = "LORA";
    public required int R { get; init; }
    /// <summary>PEFT's default is 8.</summary>
    public double LoraAlpha { get; init; } = 8;
    /// <summary>Scale alpha/√r instead of alpha/r.</summary>
    public bool UseRslora { get; init; }
    public bool UseDora { get; init; }
    /// <summary>The list form of target_modules (a module matches a name equal to it or ending in "." + it); null when a string was given.</summary>
    public string[]? TargetModules { get; init; }
    /// <summary>The string form: "all-linear" or a regex matched against the whole module path; null when a list was given.</summary>
    public string? TargetModulesPattern { get; init; }
    public int[]? LayersToTransform { get; init; }
    /// <summary>Per-module rank overrides: key is a regex matched against the end of the module path.</summary>
    public IReadOnlyDictionary<string, int> RankPattern { get; init; } = new Dictionary<string, int>();
    public IReadOnlyDictionary<string, double> AlphaPattern { get; init; } = new Dictionary<string, double>();
    public string? BaseModelNameOrPath { get; init; }
    public string? TaskType { get; init; } = "CAUSAL_LM";
    /// <summary>Where this came from, for messages.</summary>
    public string Source { get; init; } = "adapter_config.json";

    /// <summary>The rank of a module, e.g. "model.layers.3.self_attn.q_proj" (rank_pattern first, as PEFT does).</summary>
    public int RankFor(string modulePath) => FindPattern(RankPattern, "rank_pattern", modulePath) is { } key ? RankPattern[key] : R;

    public double AlphaFor(string modulePath) => FindPattern(AlphaPattern, "alpha_pattern", modulePath) is { } key ? AlphaPattern[key] : LoraAlpha;

    /// <summary>The factor of B·A: alpha / r, or alpha / √r with rsLoRA.</summary>
    public float ScaleFor(string modulePath)
    {
        int r = RankFor(modulePath);
        double alpha = AlphaFor(modulePath);
        return (float)(UseRslora ? alpha / Math.Sqrt(r) : alpha / r);
    }

    /// <summary>Whether PEFT would put an adapter on this module of this layer.</summary>
    public bool Targets(int layer, string module)
    {
        if (!LoraModules.IsKnown(module)) return false;
        if (LayersToTransform is { } layers && !layers.Contains(layer)) return false;
        string path = LoraModules.ModulePath(layer, module);
        if (TargetModules is { } list) return list.Any(t => path == t || path.EndsWith("." + t, StringComparison.Ordinal));
        if (TargetModulesPattern is null) return false;
        if (TargetModulesPattern == AllLinear) return true;
        return ModulePattern.IsMatch(TargetPatternRegex(TargetModulesPattern), path, Source, $"target_modules pattern '{TargetModulesPattern}'");
    }

    // PEFT matches a string target_modules against the whole module path, and pattern keys against its end at a dot.
    private static string TargetPatternRegex(string pattern) => $"^(?:{pattern})$";

    private static string KeyRegex(string key) => $"^(?:.*\\.)?(?:{key})$";

    private string? FindPattern<T>(IReadOnlyDictionary<string, T> patterns, string field, string modulePath) =>
        patterns.Keys.FirstOrDefault(key => ModulePattern.IsMatch(KeyRegex(key), modulePath, Source, $"{field} key '{key}'"));

    public static PeftAdapterConfig Load(string path)
    {
        using var doc = JsonFields.ParseFile(path);
        return Parse(JsonFields.Root(doc, path));
    }

    public static PeftAdapterConfig Parse(string json, string source)
    {
        using var doc = JsonFields.Parse(System.Text.Encoding.UTF8.GetBytes(json), source);
        return Parse(JsonFields.Root(doc, source));
    }

    private static PeftAdapterConfig Parse(JsonFields f)
    {
        string peftType = f.RequireString("peft_type");
        if (peftType != "LORA")
            throw new ModelFormatException($"{f.Source}: field 'peft_type' is \"{peftType}\"; only LORA adapters (including DoRA and rsLoRA) are supported.");
        if (f.GetBool("fan_in_fan_out") == true)
            throw new ModelFormatException($"{f.Source}: field 'fan_in_fan_out' is true; only false (Linear layers, weights stored [out, in]) is supported.");
        string bias = f.GetString("bias") ?? "none";
        if (bias != "none")
            throw new ModelFormatException($"{f.Source}: field 'bias' is \"{bias}\"; only \"none\" is supported (trained biases are not applied).");
        if (f.GetBool("lora_bias") == true)
            throw new ModelFormatException($"{f.Source}: field 'lora_bias' is true; LoRA B biases are not supported.");
        if (f.Get("modules_to_save") is { } save && !(save.ValueKind == JsonValueKind.Array && save.GetArrayLength() == 0))
            throw new ModelFormatException($"{f.Source}: field 'modules_to_save' is {JsonFields.Describe(save)}; adapters that retrain whole modules are not supported (expected null or []).");
        if (f.Get("layer_replication") is { } replication)
            throw new ModelFormatException($"{f.Source}: field 'layer_replication' is {JsonFields.Describe(replication)}; layer replication is not supported.");

        string[]? targetList = null;
        string? targetPattern = null;
        if (f.Get("target_modules") is { } targets)
        {
            if (targets.ValueKind == JsonValueKind.String) targetPattern = targets.GetString();
            else targetList = f.GetStringList("target_modules");
        }
        if (targetPattern is not null && targetPattern != AllLinear) CheckRegex(f, "target_modules", targetPattern, TargetPatternRegex(targetPattern));

        var config = new PeftAdapterConfig
        {
            Source = f.Source,
            PeftType = peftType,
            R = f.RequireInt("r"),
            LoraAlpha = f.GetDouble("lora_alpha") ?? 8,
            UseRslora = f.GetBool("use_rslora") ?? false,
            UseDora = f.GetBool("use_dora") ?? false,
            TargetModules = targetList,
            TargetModulesPattern = targetPattern,
            LayersToTransform = f.GetIntOrIntList("layers_to_transform"),
            RankPattern = ReadPattern(f, "rank_pattern", (name, v) => f.ToInt(name, v)),
            AlphaPattern = ReadPattern(f, "alpha_pattern", (name, v) => f.ToDouble(name, v)),
            BaseModelNameOrPath = f.GetString("base_model_name_or_path"),
            TaskType = f.GetString("task_type"),
        };
        if (config.R <= 0) throw new ModelFormatException($"{f.Source}: field 'r' is {config.R}, expected a positive integer.");
        foreach (var (key, rank) in config.RankPattern)
            if (rank <= 0) throw new ModelFormatException($"{f.Source}: rank_pattern['{key}'] is {rank}, expected a positive integer.");
        foreach (int layer in config.LayersToTransform ?? [])
            if (layer < 0) throw new ModelFormatException($"{f.Source}: field 'layers_to_transform' holds {layer}; layer indices start at 0.");
        config.CheckScales();
        return config;
    }

    /// <summary>
    /// Every alpha must be positive and finite, and every rank a module can get (r or a rank_pattern value) with every
    /// alpha it can get (lora_alpha or an alpha_pattern value; PEFT looks the two up separately) must give a scale that
    /// is a positive fp32 number no larger than <see cref="MaxScale"/>: an alpha of 1e308 became an infinite scale
    /// and every output NaN.
    /// </summary>
    private void CheckScales()
    {
        var alphas = new List<(string Field, double Alpha)> { ("lora_alpha", LoraAlpha) };
        alphas.AddRange(AlphaPattern.Select(p => ($"alpha_pattern['{p.Key}']", p.Value)));
        var ranks = new List<(string Field, int Rank)> { ("r", R) };
        ranks.AddRange(RankPattern.Select(p => ($"rank_pattern['{p.Key}']", p.Value)));
        foreach (var (field, alpha) in alphas)
        {
            if (!double.IsFinite(alpha) || alpha <= 0)
                throw new ModelFormatException($"{Source}: field '{field}' is {JsonFields.Format(alpha)}, expected a positive finite number.");
            foreach (var (rankField, rank) in ranks)
            {
                float scale = (float)(UseRslora ? alpha / Math.Sqrt(rank) : alpha / rank);
                if (!float.IsFinite(scale) || scale <= 0 || scale > MaxScale)
                    throw new ModelFormatException(
                        $"{Source}: field '{field}' is {JsonFields.Format(alpha)}, which with {rankField} = {rank} gives the scale " +
                        $"{(UseRslora ? "alpha/√r" : "alpha/r")} = {scale}; expected a positive finite scale no larger than {MaxScale:0e0}.");
            }
        }
    }

    private static Dictionary<string, T> ReadPattern<T>(JsonFields f, string field, Func<string, JsonElement, T> read)
    {
        var result = new Dictionary<string, T>(StringComparer.Ordinal);
        if (f.GetObject(field) is not { } obj) return result;
        foreach (var p in obj.Object.EnumerateObject())
        {
            CheckRegex(f, $"{field}['{p.Name}']", p.Name, KeyRegex(p.Name));
            result[p.Name] = read($"{field}['{p.Name}']", p.Value);
        }
        return result;
    }

    /// <summary>The pattern alone must parse (so a key like ")|(.*" cannot reach outside its group once wrapped), and so must the wrapped form that is matched.</summary>
    private static void CheckRegex(JsonFields f, string field, string pattern, string wrapped)
    {
        try
        {
            _ = new Regex(pattern, RegexOptions.CultureInvariant);
            _ = ModulePattern.Get(wrapped);
        }
        catch (ArgumentException e)
        {
            throw new ModelFormatException($"{f.Source}: field '{field}' is not a valid regular expression: {e.Message}", e);
        }
    }

    /// <summary>The adapter_config.json PEFT needs to load this adapter (and nothing Scion cannot honour).</summary>
    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("peft_type", PeftType);
            w.WriteString("task_type", TaskType ?? "CAUSAL_LM");
            if (BaseModelNameOrPath is null) w.WriteNull("base_model_name_or_path");
            else w.WriteString("base_model_name_or_path", BaseModelNameOrPath);
            w.WriteNumber("r", R);
            w.WriteNumber("lora_alpha", LoraAlpha);
            w.WriteBoolean("use_rslora", UseRslora);
            w.WriteBoolean("use_dora", UseDora);
            if (TargetModules is { } list)
            {
                w.WriteStartArray("target_modules");
                foreach (var t in list) w.WriteStringValue(t);
                w.WriteEndArray();
            }
            else if (TargetModulesPattern is { } pattern) w.WriteString("target_modules", pattern);
            else w.WriteNull("target_modules");
            if (LayersToTransform is { } layers)
            {
                w.WriteStartArray("layers_to_transform");
                foreach (int l in layers) w.WriteNumberValue(l);
                w.WriteEndArray();
            }
            else w.WriteNull("layers_to_transform");
            w.WriteStartObject("rank_pattern");
            foreach (var (k, v) in RankPattern) w.WriteNumber(k, v);
            w.WriteEndObject();
            w.WriteStartObject("alpha_pattern");
            foreach (var (k, v) in AlphaPattern) w.WriteNumber(k, v);
            w.WriteEndObject();
            w.WriteBoolean("fan_in_fan_out", false);
            w.WriteString("bias", "none");
            w.WriteNull("modules_to_save");
            w.WriteNumber("lora_dropout", 0.0);
            w.WriteBoolean("inference_mode", true);
            w.WriteBoolean("init_lora_weights", true);
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }
}
