using Scion.Models.Tokenization;

namespace Scion.Models.Tests.Tokenization;

public class GgufVocabTests
{
    [Theory]
    [InlineData("ggml-vocab-llama-spm.gguf")]
    [InlineData("ggml-vocab-gpt-2.gguf")]
    public void EncodesEveryLlamaCppTestCase(string vocabFile)
    {
        var tokenizer = VocabTestCases.Gguf("tokenizers", vocabFile);
        var failures = new List<string>();
        foreach (var (text, expected) in VocabTestCases.Load(vocabFile))
        {
            var actual = tokenizer.Encode(text, addSpecial: false);
            if (!actual.SequenceEqual(expected))
                failures.Add($"'{text}'\n  expected {string.Join(' ', expected)}\n  actual   {string.Join(' ', actual)}");
        }
        Assert.True(failures.Count == 0, $"{failures.Count} cases differ:\n" + string.Join('\n', failures));
    }

    /// <summary>llama.cpp warns and keeps its default for an id past the vocabulary; we refuse, naming the key. Its
    /// "no token" (-1 as u32 0xFFFFFFFF, as stories260K.gguf writes the padding id) reads as absent, as there.</summary>
    [Theory]
    [InlineData("tokenizer.ggml.bos_token_id", 32000u)]
    [InlineData("tokenizer.ggml.eos_token_id", 1_000_000u)]
    [InlineData("tokenizer.ggml.unknown_token_id", 32000u)]
    [InlineData("tokenizer.ggml.padding_token_id", 40000u)]
    [InlineData("tokenizer.ggml.eos_token_id", -5)]
    public void SpecialTokenIdsOutsideTheVocabularyAreRefusedNamingTheKey(string key, object value)
    {
        var e = Assert.Throws<Scion.Models.Formats.ModelFormatException>(() => LlamaSpmWith(key, value));
        Assert.Contains($"'{key}'", e.Message);
        Assert.Contains("outside the vocabulary of 32000 tokens", e.Message);
    }

    [Fact]
    public void TheNoTokenIdReadsAsAbsent()
    {
        Assert.Equal(1, LlamaSpmWith("tokenizer.ggml.bos_token_id", uint.MaxValue).BosId); // the llama default
        Assert.Equal(-1, LlamaSpmWith("tokenizer.ggml.padding_token_id", -1).PaddingId);
        Assert.Equal(-1, VocabTestCases.Gguf("models", "stories260K", "stories260K.gguf").PaddingId);
    }

    private static Tokenizer LlamaSpmWith(string key, object value)
    {
        using var file = Scion.Models.Formats.GgufFile.Open(Scion.Testing.SharedData.Path("tokenizers", "ggml-vocab-llama-spm.gguf"));
        var values = new Dictionary<string, object>(file.Metadata.Values) { [key] = value };
        return Tokenizer.FromGguf(new Scion.Models.Formats.GgufMetadata(values, "vocab.gguf"));
    }

    [Fact]
    public void LlamaSpmReadsSpecialTokensAndFlags()
    {
        var t = VocabTestCases.LlamaSpm;
        Assert.Equal(32000, t.VocabSize);
        Assert.Equal(1, t.BosId);
        Assert.Equal(2, t.EosId);
        Assert.True(t.AddBos);
        Assert.False(t.AddEos);
        Assert.Contains(2, t.EndOfGenerationIds);
        Assert.True(t.IsSpecial(1));
        Assert.False(t.IsSpecial(15043));
        Assert.Equal("▁Hello", t.TokenText(15043));
        Assert.Equal(15043, t.TokenToId("▁Hello"));
        Assert.Null(t.TokenToId("no such token"));
        Assert.Equal([1, 15043, 3186], t.Encode("Hello world"));
        Assert.Equal([15043, 3186], t.Encode("Hello world", addSpecial: false));
    }

    [Fact]
    public void Gpt2ReadsSpecialTokensAndFlags()
    {
        var t = VocabTestCases.Gpt2;
        Assert.Equal(50257, t.VocabSize);
        Assert.Equal(50256, t.BosId);
        Assert.Equal(50256, t.EosId);
        Assert.False(t.AddBos);
        Assert.Contains(50256, t.EndOfGenerationIds);
        Assert.Equal("Ġworld", t.TokenText(995));
    }

    [Fact]
    public void ControlTokensAreParsedOnlyWhenAsked()
    {
        var t = VocabTestCases.LlamaSpm;
        var plain = t.Encode("a</s>b", addSpecial: false);
        Assert.DoesNotContain(2, plain);
        var parsed = t.Encode("a</s>b", addSpecial: false, parseSpecial: true);
        // llama.cpp puts the dummy-prefix space before the text that follows a special token as well
        Assert.Equal(t.Encode("a", false).Concat([2]).Concat(t.Encode("b", false)), parsed);

        var g = VocabTestCases.Gpt2;
        Assert.DoesNotContain(50256, g.Encode("x<|endoftext|>y", addSpecial: false));
        Assert.Equal([87, 50256, 88], g.Encode("x<|endoftext|>y", addSpecial: false, parseSpecial: true));
    }

    [Fact]
    public void DecodeStripsTheDummyPrefixAndReassemblesBytes()
    {
        var t = VocabTestCases.LlamaSpm;
        Assert.Equal("Hello world", t.Decode(t.Encode("Hello world"), skipSpecial: true));
        Assert.Equal("<s> Hello world", t.Decode(t.Encode("Hello world")));
        // byte-fallback tokens 243 162 169 156 are the four UTF-8 bytes of one emoji
        Assert.Equal(" this is 🦙.cpp", t.Decode([29871, 445, 338, 29871, 243, 162, 169, 156, 29889, 8223]));
        // llama.cpp's own detokenizer keeps the space after BOS and strips it at position 0
        Assert.Equal(" Hello world", t.Detokenize(t.Encode("Hello world"), removeSpecial: true));
        Assert.Equal("Hello world", t.Detokenize(t.Encode("Hello world", addSpecial: false)));
    }

    [Fact]
    public void Gpt2DetokenizeCleansSpacesLikeLlamaCpp()
    {
        var g = VocabTestCases.Gpt2;
        var ids = g.Encode("Hello , world ! It 's fine", addSpecial: false);
        Assert.Equal("Hello , world ! It 's fine", g.Decode(ids));
        Assert.Equal("Hello, world! It's fine", g.Detokenize(ids));
    }

    [Fact]
    public void UnknownModelAndPreTokenizerAreRefusedByName()
    {
        var ex = Assert.Throws<Scion.Models.Formats.ModelFormatException>(() => LlamaCppPreTokenizer.ForName("martian", "x.gguf"));
        Assert.Contains("martian", ex.Message);
    }
}
