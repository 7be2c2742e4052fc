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
            "Sequence" => new SequenceNormalizer(HuggingFaceJson.Array(HuggingFaceJson.Required(e, "normalizers", source, "normalizer Sequence"), source, "normalizer Sequence normalizers")
                .Select(n => Create(n, source)).OfType<Normalizer>().ToArray()),
            "Prepend" => Prepend(HuggingFaceJson.String(HuggingFaceJson.Required(e, "prepend", source, "normalizer Prepend"), source, "normalizer Prepend prepend")),
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
        var (pattern, isRegex) = HuggingFaceJson.Pattern(HuggingFaceJson.Required(e, "pattern", source, "normalizer Replace"), source);
        string content = HuggingFaceJson.String(HuggingFaceJson.Required(e, "content", source, "normalizer Replace"), source, "normalizer Replace content");
        if (!isRegex) return new Simple(t => t.Replace(pattern, content, StringComparison.Ordinal));
        var regex = HuggingFaceJson.Regex(pattern, source);
        return new Simple(t => HuggingFaceJson.Bounded(regex, () => regex.Replace(t, content.Replace("$", "$$"))));
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
