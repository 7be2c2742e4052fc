using System.Text.RegularExpressions;

namespace Scion.Models.Adapters;

/// <summary>
/// Parses and formats PEFT state-dict names of LoRA tensors on a Llama decoder layer, e.g.
/// <c>base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight</c>. Also accepted: the adapter name
/// (<c>.lora_A.default.weight</c>) that some savers leave in, names without the <c>base_model.model.</c> wrapper,
/// and the DoRA magnitude under any of <c>lora_magnitude_vector</c>, <c>.weight</c>, <c>.default</c>, <c>.default.weight</c>.
/// </summary>
public static partial class PeftTensorName
{
    public enum Part { A, B, Magnitude }

    public readonly record struct Parsed(int Layer, string Parent, string Module, Part Part);

    [GeneratedRegex(@"^(?:base_model\.model\.)?(?:model\.)?layers\.(\d{1,6})\.([A-Za-z_]+)\.([A-Za-z0-9_]+)\.(lora_A|lora_B|lora_magnitude_vector)(?:\.default)?(\.weight)?$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    /// <summary>Null when the name is not a LoRA tensor of a decoder-layer module (the caller reports it).</summary>
    public static Parsed? TryParse(string name)
    {
        var m = Pattern().Match(name);
        if (!m.Success) return null;
        var part = m.Groups[4].Value switch { "lora_A" => Part.A, "lora_B" => Part.B, _ => Part.Magnitude };
        // lora_A / lora_B without ".weight" would be some other parameter (a bias is ".bias", which does not match).
        if (part != Part.Magnitude && !m.Groups[5].Success) return null;
        return new Parsed(int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), m.Groups[2].Value, m.Groups[3].Value, part);
    }

    /// <summary>The name PEFT itself writes (its saver drops the adapter name, and stores DoRA's magnitude without ".weight").</summary>
    public static string Format(int layer, string module, Part part) =>
        $"base_model.model.{LoraModules.ModulePath(layer, module)}." + part switch
        {
            Part.A => "lora_A.weight",
            Part.B => "lora_B.weight",
            _ => "lora_magnitude_vector",
        };
}
