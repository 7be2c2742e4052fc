using System.Text;

namespace Scion.Models.Tokenization;

public sealed partial class Tokenizer
{
    /// <summary>
    /// llama.cpp's llama_detokenize, step for step: with <paramref name="removeSpecial"/> a leading BOS (and trailing
    /// EOS when the model adds one) is dropped; the first token loses one leading space when the vocabulary adds a
    /// dummy prefix, except after a dropped BOS; control tokens are written only with <paramref name="unparseSpecial"/>;
    /// byte-level vocabularies then get llama.cpp's space clean-up before punctuation and contractions.
    /// Use <see cref="Decode"/> for round trips; use this to compare text with llama.cpp's.
    /// </summary>
    public string Detokenize(ReadOnlySpan<int> ids, bool removeSpecial = false, bool unparseSpecial = false)
    {
        bool removeSpace = AddSpacePrefix;
        if (removeSpecial && AddBos && ids.Length > 0 && ids[0] == BosId)
        {
            removeSpace = false;
            ids = ids[1..];
        }
        if (removeSpecial && AddEos && ids.Length > 0 && ids[^1] == EosId) ids = ids[..^1];
        var text = new List<byte>(ids.Length * 4);
        foreach (int id in ids)
        {
            CheckId(id);
            ReadOnlySpan<byte> piece = !unparseSpecial && Vocab.IsControlLike(id) ? [] : _pieces[id];
            if (removeSpace && piece.Length > 0 && piece[0] == (byte)' ') piece = piece[1..];
            removeSpace = false;
            text.AddRange(piece);
        }
        if (CleanSpaces) CleanUpSpaces(text);
        return Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(text));
    }

    // The three passes of llama.cpp's clean_spaces, on bytes.
    private static void CleanUpSpaces(List<byte> t)
    {
        // " ?", " !", " .", " ," lose the space
        var a = new List<byte>(t.Count);
        for (int i = 0; i < t.Count; i++)
        {
            byte x = t[i];
            if (i > 0 && t[i - 1] == ' ' && x is (byte)'?' or (byte)'!' or (byte)'.' or (byte)',') a.RemoveAt(a.Count - 1);
            a.Add(x);
        }
        // " ' " between spaces becomes "'"
        var b = new List<byte>(a.Count);
        for (int i = 0; i < a.Count; i++)
        {
            byte x = a[i];
            if (i > 0 && x == '\'' && i + 1 < a.Count && a[i - 1] == ' ' && a[i + 1] == ' ')
            {
                b.RemoveAt(b.Count - 1);
                b.Add(x);
                i++; // the next space goes too
                continue;
            }
            b.Add(x);
        }
        // " 's", " 'm", " 're", " 've" lose the space
        var c = new List<byte>(b.Count);
        for (int i = 0; i < b.Count; i++)
        {
            byte x = b[i];
            if (i > 0 && b[i - 1] == ' ' && x == '\'' && i + 1 < b.Count)
            {
                byte x1 = b[i + 1];
                bool drop = x1 is (byte)'s' or (byte)'m'
                    || (i + 2 < b.Count && ((x1 == 'r' && b[i + 2] == 'e') || (x1 == 'v' && b[i + 2] == 'e')));
                if (drop) c.RemoveAt(c.Count - 1);
            }
            c.Add(x);
        }
        t.Clear();
        t.AddRange(c);
    }
}
