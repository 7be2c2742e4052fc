namespace Scion.Models.Tokenization;

/// <summary>A piece of input text: either raw text [Start, Start+Length) or one special token.</summary>
internal readonly record struct Fragment(int Start, int Length, int TokenId)
{
    public bool IsToken => TokenId >= 0;
}

/// <summary>
/// Cuts text on special tokens before the model sees it (llama.cpp's tokenizer_st_partition): tokens are tried in
/// order of decreasing text length, each splitting every raw fragment left by the longer ones, so the longest token
/// wins where two overlap. Control and unknown tokens are matched only when the caller parses special tokens (a
/// rendered chat template); user-defined (added, non-special) tokens are always matched, as llama.cpp and Hugging Face do.
/// </summary>
internal sealed class SpecialTokenSplitter
{
    private readonly (int Id, string Text, bool Control, bool LStrip, bool RStrip)[] _tokens;

    public SpecialTokenSplitter(Vocabulary vocab, IReadOnlySet<int>? lstrip = null, IReadOnlySet<int>? rstrip = null)
    {
        _tokens = Enumerable.Range(0, vocab.Count)
            .Where(id => vocab.Types[id] is TokenType.Control or TokenType.UserDefined or TokenType.Unknown && vocab.Texts[id].Length > 0)
            .OrderByDescending(id => vocab.Texts[id].Length).ThenBy(id => id)
            .Select(id => (id, vocab.Texts[id], vocab.Types[id] != TokenType.UserDefined,
                lstrip?.Contains(id) == true, rstrip?.Contains(id) == true))
            .ToArray();
    }

    public List<Fragment> Split(string text, bool parseSpecial)
    {
        var fragments = new List<Fragment>();
        if (text.Length == 0) return fragments;
        fragments.Add(new Fragment(0, text.Length, -1));
        foreach (var token in _tokens)
        {
            if (token.Control && !parseSpecial) continue;
            if (!text.Contains(token.Text, StringComparison.Ordinal)) continue; // cheap skip for the common case
            var next = new List<Fragment>(fragments.Count + 4);
            foreach (var f in fragments)
            {
                if (f.IsToken) { next.Add(f); continue; }
                int start = f.Start, end = f.Start + f.Length;
                while (start < end)
                {
                    int match = text.IndexOf(token.Text, start, end - start, StringComparison.Ordinal);
                    if (match < 0) break;
                    int leftEnd = match;
                    if (token.LStrip) while (leftEnd > start && IsCSpace(text[leftEnd - 1])) leftEnd--;
                    if (leftEnd > start) next.Add(new Fragment(start, leftEnd - start, -1));
                    next.Add(new Fragment(match, token.Text.Length, token.Id));
                    start = match + token.Text.Length;
                    if (token.RStrip) while (start < end && IsCSpace(text[start])) start++;
                }
                if (start < end) next.Add(new Fragment(start, end - start, -1));
            }
            fragments = next;
        }
        return fragments;
    }

    // C isspace() in the "C" locale, which is what llama.cpp strips around lstrip/rstrip tokens.
    private static bool IsCSpace(char c) => c is ' ' or '\t' or '\n' or '\v' or '\f' or '\r';
}
