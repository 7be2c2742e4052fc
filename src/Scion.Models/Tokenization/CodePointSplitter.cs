using System.Text.RegularExpressions;

namespace Scion.Models.Tokenization;

/// <summary>Splits a code point range into consecutive pieces that cover it (one pre-tokenizer regex).</summary>
internal abstract class CodePointSplitter
{
    public abstract void Split(in CodePoints text, int start, int length, List<Piece> output);

    /// <summary>Applies the splitters in turn, each to every piece the previous one left (llama.cpp's unicode_regex_split).</summary>
    public static List<Piece> SplitAll(in CodePoints text, IReadOnlyList<CodePointSplitter> splitters)
    {
        var pieces = new List<Piece> { new(0, text.Length) };
        foreach (var splitter in splitters)
        {
            var next = new List<Piece>(pieces.Count * 2);
            foreach (var p in pieces) splitter.Split(text, p.Start, p.Length, next);
            pieces = next;
        }
        return pieces;
    }

    /// <summary>
    /// The splitter for a regex: the hand-written scanners for the GPT-2 and Llama 3 patterns (as llama.cpp uses
    /// them in place of the regex), .NET's regex engine for anything else.
    /// </summary>
    /// <param name="source">the file a pattern came from: its regex is checked at load and bounded in time per match</param>
    public static CodePointSplitter ForPattern(string pattern, bool asciiWhitespace = false, string? source = null) => pattern switch
    {
        Patterns.Gpt2 or Patterns.Gpt2WithTrailingWhitespace => new Gpt2Splitter(),
        Patterns.Llama3 or Patterns.Llama3CaseInsensitive => new Llama3Splitter(maxDigits: 3),
        Patterns.Qwen2 or Patterns.Qwen2CaseInsensitive => new Llama3Splitter(maxDigits: 1),
        _ when source is not null => new RegexSplitter(HuggingFaceJson.Regex(pattern, source), asciiWhitespace),
        _ => new RegexSplitter(pattern, asciiWhitespace),
    };
}

internal static class Patterns
{
    public const string Gpt2 = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)";
    public const string Gpt2WithTrailingWhitespace = Gpt2 + @"|\s+";
    public const string Llama3CaseInsensitive = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    public const string Llama3 = @"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    public const string Qwen2CaseInsensitive = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    public const string Qwen2 = @"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
}

/// <summary>Any regex through .NET's engine, one char per code point; the text between matches is kept as pieces too.</summary>
internal sealed class RegexSplitter(Regex regex, bool asciiWhitespace) : CodePointSplitter
{
    private readonly Regex _regex = regex;

    /// <summary>One of our own patterns (llama.cpp's lists, Hugging Face's fixed ones), trusted to parse and to run in linear time.</summary>
    public RegexSplitter(string pattern, bool asciiWhitespace) : this(new Regex(pattern, RegexOptions.CultureInvariant), asciiWhitespace) { }

    public override void Split(in CodePoints text, int start, int length, List<Piece> output)
    {
        if (length == 0) return;
        string chunk = text.OneCharPerCodePoint(start, length, asciiWhitespace);
        int last = HuggingFaceJson.Bounded(_regex, () =>
        {
            int end = 0;
            for (var m = _regex.Match(chunk); m.Success; m = m.NextMatch())
            {
                if (m.Length == 0) continue;
                if (m.Index > end) output.Add(new Piece(start + end, m.Index - end, IsMatch: false));
                output.Add(new Piece(start + m.Index, m.Length));
                end = m.Index + m.Length;
            }
            return end;
        });
        if (last < length) output.Add(new Piece(start + last, length - last, IsMatch: false));
    }
}

/// <summary>
/// GPT-2's pattern <c>'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+</c> as a scanner
/// (same decisions as llama.cpp's unicode_regex_split_custom_gpt2, and several times faster than a regex).
/// </summary>
internal sealed class Gpt2Splitter : CodePointSplitter
{
    public override void Split(in CodePoints text, int start, int length, List<Piece> output)
    {
        var cps = text.Values;
        int end = start + length;
        int Flags(int p) => p >= start && p < end ? UnicodeClass.Of(cps[p]) | 0x80 : 0; // 0x80: "in range"
        int prevEnd = start;
        void Emit(int to) { if (to > prevEnd) output.Add(new Piece(prevEnd, to - prevEnd)); prevEnd = to; }

        for (int pos = start; pos < end;)
        {
            int cp = cps[pos];
            if (cp == '\'' && pos + 1 < end)
            {
                int n1 = cps[pos + 1];
                if (n1 is 's' or 't' or 'm' or 'd') { Emit(pos += 2); continue; }
                if (pos + 2 < end)
                {
                    int n2 = cps[pos + 2];
                    if ((n1 == 'r' && n2 == 'e') || (n1 == 'v' && n2 == 'e') || (n1 == 'l' && n2 == 'l')) { Emit(pos += 3); continue; }
                }
            }
            int f2 = cp == ' ' ? Flags(pos + 1) : Flags(pos);
            if ((f2 & UnicodeClass.Letter) != 0)
            {
                if (cp == ' ') pos++;
                while ((Flags(pos) & UnicodeClass.Letter) != 0) pos++;
                Emit(pos); continue;
            }
            if ((f2 & UnicodeClass.Number) != 0)
            {
                if (cp == ' ') pos++;
                while ((Flags(pos) & UnicodeClass.Number) != 0) pos++;
                Emit(pos); continue;
            }
            if (IsOther(f2))
            {
                if (cp == ' ') pos++;
                while (IsOther(Flags(pos))) pos++;
                Emit(pos); continue;
            }
            int spaces = 0;
            while ((Flags(pos + spaces) & UnicodeClass.Whitespace) != 0) spaces++;
            if (spaces > 1 && pos + spaces < end) { Emit(pos += spaces - 1); continue; } // \s+(?!\S): leave one for the next word
            if (spaces > 0) { Emit(pos += spaces); continue; }
            Emit(++pos);
        }
    }

    // [^\s\p{L}\p{N}] and inside the range
    private static bool IsOther(int flags) => flags != 0 && (flags & (UnicodeClass.Letter | UnicodeClass.Number | UnicodeClass.Whitespace)) == 0;
}

/// <summary>
/// Llama 3's pattern (Qwen 2's when <paramref name="maxDigits"/> is 1) as a scanner, the same decisions as llama.cpp's
/// unicode_regex_split_custom_llama3:
/// <c>(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+</c>.
/// </summary>
internal sealed class Llama3Splitter(int maxDigits) : CodePointSplitter
{
    public override void Split(in CodePoints text, int start, int length, List<Piece> output)
    {
        var cps = text.Values;
        int end = start + length;
        int Flags(int p) => p >= start && p < end ? UnicodeClass.Of(cps[p]) | 0x80 : 0;
        int Cp(int p) => p >= start && p < end ? cps[p] : -1;
        int prevEnd = start;
        void Emit(int to) { if (to > prevEnd) output.Add(new Piece(prevEnd, to - prevEnd)); prevEnd = to; }

        for (int pos = start; pos < end;)
        {
            int cp = cps[pos];
            int flags = Flags(pos);
            if (cp == '\'' && pos + 1 < end)
            {
                int n1 = AsciiLower(cps[pos + 1]);
                if (n1 is 's' or 't' or 'm' or 'd') { Emit(pos += 2); continue; }
                if (pos + 2 < end)
                {
                    int n2 = AsciiLower(cps[pos + 2]);
                    if ((n1 == 'r' && n2 == 'e') || (n1 == 'v' && n2 == 'e') || (n1 == 'l' && n2 == 'l')) { Emit(pos += 3); continue; }
                }
            }
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if (!(cp == '\r' || cp == '\n' || (flags & UnicodeClass.Number) != 0))
            {
                if ((flags & UnicodeClass.Letter) != 0 || (Flags(pos + 1) & UnicodeClass.Letter) != 0)
                {
                    pos++;
                    while ((Flags(pos) & UnicodeClass.Letter) != 0) pos++;
                    Emit(pos); continue;
                }
            }
            // \p{N}{1,maxDigits}
            if ((flags & UnicodeClass.Number) != 0)
            {
                int ini = pos;
                while ((Flags(pos) & UnicodeClass.Number) != 0)
                {
                    if (++pos - ini >= maxDigits) { Emit(pos); ini = pos; }
                }
                Emit(pos); continue;
            }
            // <space>?[^\s\p{L}\p{N}]+[\r\n]*
            int f2 = cp == ' ' ? Flags(pos + 1) : flags;
            if (IsOther(f2))
            {
                if (cp == ' ') pos++;
                while (IsOther(Flags(pos))) pos++;
                while (Cp(pos) is '\r' or '\n') pos++;
                Emit(pos); continue;
            }
            int spaces = 0, lastLineBreakEnd = 0;
            while ((Flags(pos + spaces) & UnicodeClass.Whitespace) != 0)
            {
                if (cps[pos + spaces] is '\r' or '\n') lastLineBreakEnd = pos + spaces + 1;
                spaces++;
            }
            if (lastLineBreakEnd > 0) { Emit(pos = lastLineBreakEnd); continue; } // \s*[\r\n]+
            if (spaces > 1 && pos + spaces < end) { Emit(pos += spaces - 1); continue; } // \s+(?!\S)
            if (spaces > 0) { Emit(pos += spaces); continue; }
            Emit(++pos);
        }
    }

    private static int AsciiLower(int c) => c is >= 'A' and <= 'Z' ? c + 32 : c;

    private static bool IsOther(int flags) => flags != 0 && (flags & (UnicodeClass.Letter | UnicodeClass.Number | UnicodeClass.Whitespace)) == 0;
}
