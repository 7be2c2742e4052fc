using System.Diagnostics;
using System.Text;
using Scion.Models.Tokenization;

namespace Scion.Models.Tests.Tokenization;

public class RoundTripTests
{
    // Pieces that random strings are built from: ASCII words and punctuation, whitespace runs, control chars,
    // accents and combining marks, CJK, emoji (with ZWJ and variation selectors), RTL and supplementary letters.
    private static readonly string[] Atoms = [
        "a", "Z", "hello", " world", "'s", "'LL", "don't", "  ", "   ", "\t", "\n", "\r\n", "\n\n", " \n ", "\u000b", "\u0000", "\u001f", "\u007f",
        "0", "12", "3.14", "1,000,000", "!", "?!", "...", "----", "====", "«»", "\"", "`", "~", "$", "€", "¿",
        "é", "e\u0301", "a\u0308\u0323", "ñ", "ß", "Ω", "ж", "Привет", "ᏣᎳᎩ", "ﬁ", "Ａ",
        "中文", "日本語", "한국어", "ข้าว", "ស្ដង់", "مرحبا", "שלום", "हिन्दी",
        "🦙", "😀", "👩‍👩‍👧", "❤️", "🇫🇷", "𝐀𝐁", "𠀀", "\u00a0", "\u2003", "\u3000", "\u200b", "\u2028", "\ufeff", "▁", "Ġ", "<s>", "</s>", "<|endoftext|>",
    ];

    internal static string RandomText(Random rng, int atoms)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < atoms; i++) sb.Append(Atoms[rng.Next(Atoms.Length)]);
        return sb.ToString();
    }

    public static TheoryData<string> Vocabularies => new() { "ggml-vocab-llama-spm.gguf", "ggml-vocab-gpt-2.gguf" };

    [Theory]
    [MemberData(nameof(Vocabularies))]
    public void DecodeOfEncodeIsIdentity(string vocabFile)
    {
        var t = VocabTestCases.Gguf("tokenizers", vocabFile);
        var rng = new Random(1234);
        for (int i = 0; i < 400; i++)
        {
            string s = RandomText(rng, rng.Next(0, 12));
            // SentencePiece vocabularies write spaces as U+2581, so a literal U+2581 in the input decodes as a space.
            if (t.AddSpacePrefix) s = s.Replace('\u2581', '_');
            Assert.Equal(s, t.Decode(t.Encode(s, addSpecial: false)));
            Assert.Equal(s, t.Decode(t.Encode(s, addSpecial: true), skipSpecial: true));
        }
    }

    [Theory]
    [MemberData(nameof(Vocabularies))]
    public void InvalidSurrogatesBecomeReplacementChars(string vocabFile)
    {
        var t = VocabTestCases.Gguf("tokenizers", vocabFile);
        string bad = "a\ud800b\udc00c\ud83d";
        Assert.Equal("a\ufffdb\ufffdc\ufffd", t.Decode(t.Encode(bad, addSpecial: false)));
    }

    [Theory]
    [MemberData(nameof(Vocabularies))]
    public void StreamingDecoderMatchesDecodeAndNeverSplitsCharacters(string vocabFile)
    {
        var t = VocabTestCases.Gguf("tokenizers", vocabFile);
        var rng = new Random(99);
        for (int i = 0; i < 200; i++)
        {
            string s = RandomText(rng, rng.Next(1, 12));
            var ids = t.Encode(s, addSpecial: i % 2 == 0);
            foreach (bool skip in new[] { false, true })
            {
                var stream = new StreamingDecoder(t, skip);
                var sb = new StringBuilder();
                foreach (int id in ids)
                {
                    string part = stream.Push(id);
                    Assert.True(!part.Contains('\ufffd'), $"U+FFFD in piece of token {id} for '{s}': [{string.Join(',', ids)}] part '{part}'"); // a held-back byte would show up as U+FFFD if split
                    if (part.Length > 0) Assert.False(char.IsHighSurrogate(part[^1]), "a surrogate pair was split");
                    sb.Append(part);
                }
                sb.Append(stream.Flush());
                Assert.Equal(t.Decode(ids, skip), sb.ToString());
            }
        }
    }

    [Fact]
    public void StreamingDecoderKeepsTheSpaceWhenContinuingAPrompt()
    {
        var t = VocabTestCases.LlamaSpm;
        var ids = t.Encode("Hello world", addSpecial: false); // ▁Hello ▁world
        var stream = new StreamingDecoder(t, atSequenceStart: false);
        Assert.Equal(" world", stream.Push(ids[1]));
    }

    [Theory]
    [MemberData(nameof(Vocabularies))]
    public void EncodesAMegabyteOfEnglish(string vocabFile)
    {
        var t = VocabTestCases.Gguf("tokenizers", vocabFile);
        var rng = new Random(7);
        string[] words = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "and", "runs", "away", "from", "a",
            "tokenizer", "that", "was", "written", "in", "C#,", "which", "is", "fast.", "It's", "1999!", "\n"];
        var sb = new StringBuilder(1 << 20);
        while (sb.Length < 1 << 20) sb.Append(words[rng.Next(words.Length)]).Append(' ');
        string text = sb.ToString();
        var sw = Stopwatch.StartNew();
        var ids = t.Encode(text, addSpecial: false);
        sw.Stop();
        Console.Error.WriteLine($"{vocabFile}: encoded {text.Length} chars into {ids.Length} tokens in {sw.ElapsedMilliseconds} ms");
        Assert.Equal(text, t.Decode(ids));
    }
}
