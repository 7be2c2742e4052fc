using System.Text.Json;
using System.Text.RegularExpressions;
using Scion.Models.Formats;

namespace Scion.Models.Tokenization;

/// <summary>Hugging Face pre-tokenizers (tokenizer.json "pre_tokenizer"); unknown types are refused by name.</summary>
internal static class HuggingFacePreTokenizers
{
    public static PreTokenizer Create(JsonElement? json, string source)
    {
        if (json is not { ValueKind: JsonValueKind.Object } e) return new WholePiece();
        string type = HuggingFaceJson.Type(e, source, "pre_tokenizer");
        switch (type)
        {
            case "Sequence":
                return new SequencePreTokenizer(HuggingFaceJson.Array(HuggingFaceJson.Required(e, "pretokenizers", source, "pre_tokenizer Sequence"), source, "pre_tokenizer Sequence pretokenizers")
                    .Select(p => Create(p, source)).ToArray());
            case "ByteLevel":
                return new ByteLevelPreTokenizer(HuggingFaceJson.Bool(e, "add_prefix_space", true), HuggingFaceJson.Bool(e, "use_regex", true));
            case "Split":
            {
                var (pattern, isRegex) = HuggingFaceJson.Pattern(HuggingFaceJson.Required(e, "pattern", source, "pre_tokenizer Split"), source);
                string behavior = HuggingFaceJson.String(e, "behavior", "Isolated", source, "pre_tokenizer Split behavior");
                if (behavior is not ("Removed" or "Isolated" or "MergedWithPrevious" or "MergedWithNext" or "Contiguous"))
                    throw new ModelFormatException($"{source}: Split pre-tokenizer behavior '{behavior}' is not supported.");
                var splitter = isRegex ? CodePointSplitter.ForPattern(pattern, source: source) : new RegexSplitter(Regex.Escape(pattern), false);
                return new SplitPreTokenizer(splitter, behavior, HuggingFaceJson.Bool(e, "invert", false));
            }
            case "Digits":
                return new SplitPreTokenizer(new RegexSplitter(HuggingFaceJson.Bool(e, "individual_digits", false) ? @"\p{N}" : @"\p{N}+", false), "Isolated", false);
            case "Metaspace":
                return new MetaspacePreTokenizer(HuggingFaceJson.Replacement(e, source), HuggingFaceJson.PrependScheme(e), HuggingFaceJson.Bool(e, "split", true));
            case "Whitespace":
                return new SplitPreTokenizer(new RegexSplitter(@"\w+|[^\w\s]+", false), "Removed", invert: true);
            case "WhitespaceSplit":
                return new SplitPreTokenizer(new RegexSplitter(@"\s+", false), "Removed", invert: false);
            default:
                throw new ModelFormatException($"{source}: pre_tokenizer type '{type}' is not supported (supported: Sequence, ByteLevel, Split, Digits, Metaspace, Whitespace, WhitespaceSplit).");
        }
    }

    private sealed class WholePiece : PreTokenizer
    {
        public override void Split(string piece, bool isFirst, List<string> output) => output.Add(piece);
    }

    private sealed class SequencePreTokenizer(PreTokenizer[] steps) : PreTokenizer
    {
        public override void Split(string piece, bool isFirst, List<string> output)
        {
            var pieces = new List<string> { piece };
            foreach (var step in steps)
            {
                var next = new List<string>(pieces.Count * 2);
                for (int i = 0; i < pieces.Count; i++) step.Split(pieces[i], isFirst && i == 0, next);
                pieces = next;
            }
            output.AddRange(pieces);
        }
    }

    private sealed class ByteLevelPreTokenizer(bool addPrefixSpace, bool useRegex) : PreTokenizer
    {
        private static readonly CodePointSplitter[] Gpt2 = [new Gpt2Splitter()];

        public override void Split(string piece, bool isFirst, List<string> output)
        {
            if (addPrefixSpace && !piece.StartsWith(' ')) piece = " " + piece;
            if (!useRegex) { output.Add(ByteLevelMapping.Encode(piece)); return; }
            var cps = new CodePoints(piece);
            foreach (var p in CodePointSplitter.SplitAll(cps, Gpt2))
                output.Add(ByteLevelMapping.Encode(piece.AsSpan(cps.CharStart[p.Start], cps.CharStart[p.Start + p.Length] - cps.CharStart[p.Start])));
        }
    }

    private sealed class SplitPreTokenizer(CodePointSplitter splitter, string behavior, bool invert) : PreTokenizer
    {
        public override void Split(string piece, bool isFirst, List<string> output)
        {
            var cps = new CodePoints(piece);
            var found = new List<Piece>();
            splitter.Split(cps, 0, cps.Length, found);
            var merged = new List<(int Start, int End)>();
            bool previousMatch = false;
            foreach (var f in found)
            {
                bool match = f.IsMatch != invert;
                int start = cps.CharStart[f.Start], end = cps.CharStart[f.Start + f.Length];
                switch (behavior)
                {
                    case "Removed":
                        if (!match) merged.Add((start, end));
                        break;
                    case "MergedWithPrevious" when match && merged.Count > 0:
                    case "Contiguous" when match && previousMatch && merged.Count > 0:
                        merged[^1] = (merged[^1].Start, end);
                        break;
                    case "MergedWithNext" when previousMatch && merged.Count > 0:
                        merged[^1] = (merged[^1].Start, end);
                        break;
                    default:
                        merged.Add((start, end));
                        break;
                }
                previousMatch = match;
            }
            foreach (var (start, end) in merged) if (end > start) output.Add(piece[start..end]);
        }
    }

    private sealed class MetaspacePreTokenizer(char replacement, string prependScheme, bool split) : PreTokenizer
    {
        public override void Split(string piece, bool isFirst, List<string> output)
        {
            string text = piece.Replace(' ', replacement);
            bool prepend = prependScheme == "always" || (prependScheme == "first" && isFirst);
            if (prepend && !text.StartsWith(replacement)) text = replacement + text;
            if (!split) { output.Add(text); return; }
            int start = 0;
            for (int i = 1; i < text.Length; i++)
            {
                if (text[i] != replacement) continue;
                output.Add(text[start..i]);
                start = i;
            }
            if (start < text.Length) output.Add(text[start..]);
        }
    }
}
