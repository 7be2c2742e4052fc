using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Scion.Models.Formats;

namespace Scion.Models.Tokenization;

/// <summary>
/// Hugging Face decoders (tokenizer.json "decoder") turned into what Scion decodes with: the bytes of each token,
/// plus whether the decoded text loses one leading space. Steps before a Fuse act on each token; after Fuse only
/// what is equivalent per token (one-char Replace) or on the start of the text (Strip of one leading space) is accepted.
/// </summary>
internal sealed class HuggingFaceDecoder
{
    private readonly List<Func<Value, Value>> _perToken = new();
    public bool StripsLeadingSpace { get; private set; }

    /// <summary>A token on its way through the decoder: still text, or already bytes.</summary>
    private readonly record struct Value(string? Text, byte[]? Bytes)
    {
        public byte[] ToBytes() => Bytes ?? Encoding.UTF8.GetBytes(Text!);
    }

    public static HuggingFaceDecoder Create(JsonElement? json, string source)
    {
        var decoder = new HuggingFaceDecoder();
        if (json is { ValueKind: JsonValueKind.Object } e) decoder.Add(e, source, afterFuse: false);
        return decoder;
    }

    public byte[] Piece(string token)
    {
        var v = new Value(token, null);
        foreach (var step in _perToken) v = step(v);
        return v.ToBytes();
    }

    private bool Add(JsonElement e, string source, bool afterFuse)
    {
        string type = HuggingFaceJson.Type(e, source, "decoder");
        switch (type)
        {
            case "Sequence":
                foreach (var d in HuggingFaceJson.Array(HuggingFaceJson.Required(e, "decoders", source, "decoder Sequence"), source, "decoder Sequence decoders"))
                    afterFuse = Add(d, source, afterFuse);
                return afterFuse;
            case "Fuse":
                return true;
            case "ByteLevel":
                RequireBeforeFuse(type, afterFuse, source);
                _perToken.Add(v => v.Text is null ? v : new Value(null, ByteLevelBytes(v.Text)));
                return afterFuse;
            case "ByteFallback":
                RequireBeforeFuse(type, afterFuse, source);
                _perToken.Add(v => v.Text is not null && LlamaCppVocabRules.TryParseByteToken(v.Text, out byte b) ? new Value(null, [b]) : v);
                return afterFuse;
            case "Replace":
            {
                var (pattern, isRegex) = HuggingFaceJson.Pattern(HuggingFaceJson.Required(e, "pattern", source, "decoder Replace"), source);
                string content = HuggingFaceJson.String(HuggingFaceJson.Required(e, "content", source, "decoder Replace"), source, "decoder Replace content");
                if (afterFuse && (isRegex || pattern.Length != 1))
                    throw new ModelFormatException($"{source}: decoder Replace of '{pattern}' after Fuse is not supported (only one-char patterns, which act per token).");
                var regex = isRegex ? HuggingFaceJson.Regex(pattern, source) : null;
                _perToken.Add(v => v.Text is null ? v
                    : new Value(regex is null ? v.Text.Replace(pattern, content, StringComparison.Ordinal)
                        : HuggingFaceJson.Bounded(regex, () => regex.Replace(v.Text, content.Replace("$", "$$"))), null));
                return afterFuse;
            }
            case "Metaspace":
            {
                char replacement = HuggingFaceJson.Replacement(e, source);
                _perToken.Add(v => v.Text is null ? v : new Value(v.Text.Replace(replacement, ' '), null));
                if (HuggingFaceJson.PrependScheme(e) != "never") StripsLeadingSpace = true;
                return afterFuse;
            }
            case "Strip":
            {
                string content = HuggingFaceJson.String(e, "content", " ", source, "decoder Strip content");
                int start = HuggingFaceJson.Int(e, "start", 0, source, "decoder Strip start");
                int stop = HuggingFaceJson.Int(e, "stop", 0, source, "decoder Strip stop");
                // An empty content would strip nothing start times over (a loop of up to 2^31 steps per token).
                if (content.Length == 0 || start < 0 || stop < 0)
                    throw new ModelFormatException($"{source}: decoder Strip(content '{content}', start {start}, stop {stop}) needs a non-empty content and counts of 0 or more.");
                if (afterFuse)
                {
                    if (stop != 0 || start > 1 || (start == 1 && content != " "))
                        throw new ModelFormatException($"{source}: decoder Strip(content '{content}', start {start}, stop {stop}) after Fuse is not supported (only one leading space).");
                    if (start == 1) StripsLeadingSpace = true;
                    return afterFuse;
                }
                _perToken.Add(v => v.Text is null ? v : new Value(StripChars(v.Text, content, start, stop), null));
                return afterFuse;
            }
            default:
                throw new ModelFormatException($"{source}: decoder type '{type}' is not supported (supported: Sequence, ByteLevel, ByteFallback, Metaspace, Replace, Fuse, Strip).");
        }
    }

    private static void RequireBeforeFuse(string type, bool afterFuse, string source)
    {
        if (afterFuse) throw new ModelFormatException($"{source}: decoder {type} after Fuse is not supported.");
    }

    private static string StripChars(string text, string content, int start, int stop)
    {
        int from = 0, to = text.Length;
        for (int i = 0; i < start && from < to && text.AsSpan(from).StartsWith(content, StringComparison.Ordinal); i++) from += content.Length;
        for (int i = 0; i < stop && to - content.Length >= from && text.AsSpan(0, to).EndsWith(content, StringComparison.Ordinal); i++) to -= content.Length;
        return text[from..to];
    }

    private static byte[] ByteLevelBytes(string text)
    {
        var bytes = new List<byte>(text.Length);
        Span<byte> utf8 = stackalloc byte[4];
        foreach (var rune in text.EnumerateRunes())
        {
            if (rune.Value < 0x10000 && ByteLevelMapping.TryCharToByte((char)rune.Value, out byte b)) bytes.Add(b);
            else
            {
                int n = rune.EncodeToUtf8(utf8);
                for (int i = 0; i < n; i++) bytes.Add(utf8[i]);
            }
        }
        return bytes.ToArray();
    }
}
