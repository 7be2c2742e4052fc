using System.Text;
using Scion.Models.Tokenization;

namespace Scion.Fuzz.Targets;

/// <summary>
/// Untrusted text (a prompt, a training line) through the two tokenizer families: stories260K's SentencePiece BPE
/// and a GPT-2 style byte-level BPE. Beyond not crashing, decoding what was encoded must give the text back.
/// </summary>
public sealed class EncodeTarget : FuzzTarget
{
    public override string Name => "encode";

    public override string Covers =>
        "Tokenizer.Encode/Decode on arbitrary text: special-token splitting, SentencePiece BPE with byte fallback, " +
        "the GPT-2 pre-tokenizer scanner, byte-level mapping and rank BPE; asserts Decode(Encode(text)) == text.";

    public override void Run(byte[] input)
    {
        string text = Encoding.UTF8.GetString(input);
        foreach (var tokenizer in new[] { Fixtures.StoriesTokenizer, Fixtures.ByteLevelTokenizer })
        {
            _ = tokenizer.Decode(tokenizer.Encode(text, addSpecial: true, parseSpecial: true));
            string back = tokenizer.Decode(tokenizer.Encode(text, addSpecial: false));
            if (back != text)
                throw new FuzzAssertionException($"{tokenizer.Kind} tokenizer: Decode(Encode(text)) gave {back.Length} chars back for {text.Length} " +
                    $"(first difference at char {FirstDifference(text, back)}).");
        }
    }

    private static int FirstDifference(string a, string b)
    {
        int n = Math.Min(a.Length, b.Length);
        for (int i = 0; i < n; i++) if (a[i] != b[i]) return i;
        return n;
    }

    public override IEnumerable<(string, byte[])> Seeds()
    {
        yield return ("english.txt", Encoding.UTF8.GetBytes("Once upon a time, there was a little girl named Lily. She's 3 and they'll say \"hi!\"\n"));
        yield return ("whitespace.txt", Encoding.UTF8.GetBytes("  a\t\tb\r\n\n   c \u00a0\u3000d   "));
        yield return ("unicode.txt", Encoding.UTF8.GetBytes("ünïcödé 中文字 한국어 العربية 🙂👍🏽 \u0301 1234567890"));
        yield return ("specials.txt", Encoding.UTF8.GetBytes("<s> x </s><|endoftext|><unk> <0x41>"));
    }
}

/// <summary>A property a target checks beyond "no crash" failed: always a finding, never a clear error.</summary>
public sealed class FuzzAssertionException(string message) : Exception(message);
