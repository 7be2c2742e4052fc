namespace Scion.Models.Tokenization;

/// <summary>
/// The longest run of text one BPE merge loop works on. Merging keeps every symbol of the run, its neighbours and a
/// priority queue of candidate pairs, so a single 4 MB "word" (a line of one letter, of spaces or of punctuation,
/// which no pre-tokenizer splits) took 10 s and 600 MB. Longer runs are cut into runs of this length at code point
/// boundaries, which makes encoding linear in the input with memory bounded per run. No vocabulary has tokens
/// anywhere near this long, so only text with such runs is affected, and only at the cuts: the tokens there can
/// differ from llama.cpp's, which merges across them.
/// </summary>
internal static class BpeRunLimit
{
    public const int MaxChars = 4096;

    /// <summary>Where the run starting at <paramref name="start"/> ends: at most <see cref="MaxChars"/> chars on, never inside a surrogate pair.</summary>
    public static int RunEnd(string text, int start, int end)
    {
        if (end - start <= MaxChars) return end;
        int cut = start + MaxChars;
        return char.IsLowSurrogate(text[cut]) && char.IsHighSurrogate(text[cut - 1]) ? cut - 1 : cut;
    }
}
