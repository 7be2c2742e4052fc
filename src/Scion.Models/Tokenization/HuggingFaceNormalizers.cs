using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Scion.Models.Formats;

namespace Scion.Models.Tokenization;

/// <summary>Hugging Face normalizers (tokenizer.json "normalizer"); unknown types are refused by name.</summary>
internal static class HuggingFaceNormalizers
{
    public static Normalizer? Create(JsonElement? json, string source)
    {
        if (json is not { ValueKind: JsonValueKind.Object } e) return null;
        string type = HuggingFaceJson.Type(e, source, "normalizer");
        return type switch
        {
            "Sequence" => new SequenceNormalizer(e.GetProperty("normalizers").EnumerateArray().Select(n => Create(n, source)).OfType<Normalizer>().ToArray()),
            "Prepend" => Prepend(e.GetProperty("prepend").GetString() ?? ""),
            "Replace" => Replace(e, source),
            "NFC" => new Simple(t => Unicode.Normalize(t, NormalizationForm.FormC)),
            "NFD" => new Simple(t => Unicode.Normalize(t, NormalizationForm.FormD)),
            "NFKC" => new Simple(t => Unicode.Normalize(t, NormalizationForm.FormKC)),
            "NFKD" => new Simple(t => Unicode.Normalize(t, NormalizationForm.FormKD)),
            "Lowercase" => new Simple(t => t.ToLowerInvariant()),
            "Strip" => Strip(HuggingFaceJson.Bool(e, "strip_left", true), HuggingFaceJson.Bool(e, "strip_right", true)),
            _ => throw new ModelFormatException($"{source}: normalizer type '{type}' is not supported (supported: Sequence, Prepend, Replace, NFC, NFD, NFKC, NFKD, Lowercase, Strip)."),
        };
    }

    // Values are read now: the JSON document is gone by the time the tokenizer runs.
    private static Normalizer Prepend(string prefix) => new Simple(t => t.Length == 0 ? t : prefix + t);

    private static Normalizer Strip(bool left, bool right) => new Simple(t => (left, right) switch
    {
        (true, true) => t.Trim(), (true, false) => t.TrimStart(), (false, true) => t.TrimEnd(), _ => t,
    });

    private static Normalizer Replace(JsonElement e, string source)
    {
        var (pattern, isRegex) = HuggingFaceJson.Pattern(e.GetProperty("pattern"), source);
        string content = e.GetProperty("content").GetString() ?? "";
        if (!isRegex) return new Simple(t => t.Replace(pattern, content, StringComparison.Ordinal));
        var regex = new Regex(pattern, RegexOptions.CultureInvariant);
        return new Simple(t => regex.Replace(t, content.Replace("$", "$$")));
    }

    private sealed class Simple(Func<string, string> apply) : Normalizer
    {
        public override string Normalize(string text, FragmentContext context) => apply(text);
    }

    private sealed class SequenceNormalizer(Normalizer[] steps) : Normalizer
    {
        public override string Normalize(string text, FragmentContext context)
        {
            foreach (var step in steps) text = step.Normalize(text, context);
            return text;
        }
    }

    internal static class Unicode
    {
        // string.Normalize is a silent no-op under InvariantGlobalization (Scion's build), so Scion normalizes itself.
        public static string Normalize(string text, NormalizationForm form) => Normalization.UnicodeNormalizer.Normalize(text, form);
    }
}
