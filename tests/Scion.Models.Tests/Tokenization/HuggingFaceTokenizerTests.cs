using System.Text.Json.Nodes;
using Scion.Models.Formats;
using Scion.Models.Tokenization;
using Scion.Testing;

namespace Scion.Models.Tests.Tokenization;

public class HuggingFaceTokenizerTests
{
    private static (string[] Tokens, string[] Merges) Gpt2Vocab()
    {
        using var file = GgufFile.Open(SharedData.Path("tokenizers", "ggml-vocab-gpt-2.gguf"));
        return (file.Metadata.GetArray<string>("tokenizer.ggml.tokens")!, file.Metadata.GetArray<string>("tokenizer.ggml.merges")!);
    }

    // What GPT-2's own tokenizer.json holds, rebuilt from the GGUF vocabulary.
    private static JsonObject Gpt2Json(bool mergesAsPairs)
    {
        var (tokens, merges) = Gpt2Vocab();
        var mergeArray = new JsonArray();
        foreach (var m in merges)
        {
            var parts = m.Split(' ', 2);
            mergeArray.Add(mergesAsPairs ? new JsonArray(parts[0], parts[1]) : JsonValue.Create(m));
        }
        return new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = new JsonArray(new JsonObject { ["id"] = 50256, ["content"] = "<|endoftext|>", ["special"] = true }),
            ["normalizer"] = null,
            ["pre_tokenizer"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true },
            ["post_processor"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = false, ["use_regex"] = true },
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true, ["use_regex"] = true },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = "", ["end_of_word_suffix"] = "",
                ["fuse_unk"] = false, ["byte_fallback"] = false, ["vocab"] = HuggingFaceFolder.Vocab(tokens), ["merges"] = mergeArray,
            },
        };
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Gpt2TokenizerJsonGivesTheGgufIdsOnLlamaCppVectors(bool mergesAsPairs)
    {
        using var folder = new HuggingFaceFolder(Gpt2Json(mergesAsPairs), HuggingFaceFolder.Parse("""{"eos_token": "<|endoftext|>", "bos_token": "<|endoftext|>"}"""));
        var hf = Tokenizer.FromHuggingFace(folder.Path);
        var gguf = VocabTestCases.Gpt2;
        Assert.Equal(gguf.VocabSize, hf.VocabSize);
        Assert.Equal(50256, hf.EosId);
        Assert.False(hf.AddBos);
        foreach (var (text, expected) in VocabTestCases.Load("ggml-vocab-gpt-2.gguf"))
        {
            Assert.Equal(expected, hf.Encode(text, addSpecial: false));
            Assert.Equal(gguf.Decode(expected), hf.Decode(expected));
        }
        var rng = new Random(5);
        for (int i = 0; i < 200; i++)
        {
            string s = RoundTripTests.RandomText(rng, rng.Next(0, 10));
            Assert.Equal(gguf.Encode(s, false, parseSpecial: true), hf.Encode(s, false, parseSpecial: true));
            Assert.Equal(s, hf.Decode(hf.Encode(s, false)));
        }
    }

    // A Llama-2-style tokenizer.json: SentencePiece pieces with byte fallback, spaces made "▁" by the normalizer.
    private const string SmallSentencePieceJson = """
    {
      "added_tokens": [
        {"id": 0, "content": "<unk>", "special": true}, {"id": 1, "content": "<s>", "special": true},
        {"id": 2, "content": "</s>", "special": true}, {"id": 3, "content": "<tool>", "special": false}
      ],
      "normalizer": {"type": "Sequence", "normalizers": [
        {"type": "Prepend", "prepend": "▁"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
      "pre_tokenizer": null,
      "post_processor": {"type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [], "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
      "decoder": {"type": "Sequence", "decoders": [
        {"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"},
        {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
      "model": {"type": "BPE", "dropout": null, "unk_token": "<unk>", "fuse_unk": true, "byte_fallback": true,
        "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "<tool>": 3, "<0xC3>": 4, "<0xA9>": 5, "<0xF0>": 6, "<0x9F>": 7, "<0xA6>": 8, "<0x99>": 9,
                  "▁": 10, "h": 11, "i": 12, "▁h": 13, "▁hi": 14, "t": 15, "e": 16, "r": 17, "he": 18, "▁t": 19, "▁the": 20, "▁th": 21},
        "merges": ["▁ h", "▁h i", "▁ t", "h e", "▁t he", "▁t h"]}
    }
    """;

    /// <summary>A special token named (tokenizer_config.json, tokenizer.json) or numbered (generation_config.json)
    /// outside the vocabulary is refused naming the file and key; it used to leave the model silently without BOS/EOS.</summary>
    [Theory]
    [InlineData("tokenizer_config.json", """{"bos_token": "<bos>"}""", "'bos_token' is \"<bos>\"")]
    [InlineData("tokenizer_config.json", """{"eos_token": {"content": "<|end|>"}}""", "'eos_token' is \"<|end|>\"")]
    [InlineData("tokenizer_config.json", """{"unk_token": "[UNK]"}""", "'unk_token' is \"[UNK]\"")]
    [InlineData("generation_config.json", """{"bos_token_id": 22}""", "'bos_token_id' is 22, outside the vocabulary")]
    [InlineData("generation_config.json", """{"eos_token_id": [2, 99]}""", "'eos_token_id' is 99, outside the vocabulary")]
    [InlineData("generation_config.json", """{"eos_token_id": -1}""", "'eos_token_id' is -1")]
    [InlineData("generation_config.json", """{"eos_token_id": "2"}""", "expected a token id")]
    public void SpecialTokensOutsideTheVocabularyAreRefusedNamingTheKey(string file, string json, string expected)
    {
        using var folder = new HuggingFaceFolder(HuggingFaceFolder.Parse(SmallSentencePieceJson));
        File.WriteAllText(Path.Combine(folder.Path, file), json);
        var e = Assert.Throws<Scion.Models.Formats.ModelFormatException>(() => Tokenizer.FromHuggingFace(folder.Path));
        Assert.Contains(Path.Combine(folder.Path, file), e.Message);
        Assert.Contains(expected, e.Message);

        var model = HuggingFaceFolder.Parse(SmallSentencePieceJson).AsObject();
        model["model"]!["unk_token"] = "<missing>";
        using var badUnk = new HuggingFaceFolder(model);
        Assert.Contains("model.unk_token is \"<missing>\"", Assert.Throws<Scion.Models.Formats.ModelFormatException>(() => Tokenizer.FromHuggingFace(badUnk.Path)).Message);
    }

    [Fact]
    public void SentencePieceStyleJsonWithByteFallback()
    {
        using var folder = new HuggingFaceFolder(HuggingFaceFolder.Parse(SmallSentencePieceJson));
        var t = Tokenizer.FromHuggingFace(folder.Path);
        Assert.True(t.AddBos);
        Assert.Equal(1, t.BosId);
        Assert.True(t.IsSpecial(1));
        Assert.False(t.IsSpecial(3));
        Assert.Equal(TokenType.UserDefined, t.GetTokenType(3));
        // "▁the" comes from merges ▁ t → ▁t, h e → he, ▁t he → ▁the; "é" and "🦙" have no piece and fall back to bytes
        Assert.Equal([1, 20, 10, 4, 5, 14, 10, 6, 7, 8, 9], t.Encode("the é hi 🦙"));
        Assert.Equal("the é hi 🦙", t.Decode(t.Encode("the é hi 🦙"), skipSpecial: true));
        Assert.Equal("<s> the", t.Decode(t.Encode("the")));
        // user-defined added tokens are split out even without parseSpecial, control ones only with it
        Assert.Equal([14, 3, 14], t.Encode("hi<tool>hi", addSpecial: false));
        Assert.DoesNotContain(2, t.Encode("hi</s>", addSpecial: false));
        Assert.Equal([14, 2], t.Encode("hi</s>", addSpecial: false, parseSpecial: true));
        // unknown chars without byte tokens: "z" has no piece but its byte is missing too → <unk>, fused
        Assert.Equal([10, 0], t.Encode("zz", addSpecial: false));
    }

    [Fact]
    public void MetaspacePreTokenizerAndDecoder()
    {
        var json = HuggingFaceFolder.Parse(SmallSentencePieceJson).AsObject();
        json["normalizer"] = null;
        json["pre_tokenizer"] = HuggingFaceFolder.Parse("""{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": false}""");
        json["decoder"] = HuggingFaceFolder.Parse("""{"type": "Sequence", "decoders": [{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first"}, {"type": "ByteFallback"}, {"type": "Fuse"}]}""");
        using var folder = new HuggingFaceFolder(json);
        var t = Tokenizer.FromHuggingFace(folder.Path);
        Assert.Equal([20, 14], t.Encode("the hi", addSpecial: false));
        // "first": no ▁ in front of the text after a special token
        Assert.Equal([14, 1, 11, 12], t.Encode("hi<s>hi", addSpecial: false, parseSpecial: true));
        Assert.Equal("the hi", t.Decode([20, 14]));
    }

    [Fact]
    public void SplitPreTokenizerBehaviors()
    {
        static string Words(string preTokenizer)
        {
            var splitter = HuggingFacePreTokenizers.Create(System.Text.Json.JsonDocument.Parse(preTokenizer).RootElement, "test");
            var words = new List<string>();
            splitter.Split("ab-cd--e", isFirst: true, words);
            return string.Join("|", words);
        }
        static string Split(string behavior, bool invert = false) =>
            Words($$"""{"type": "Split", "pattern": {"String": "-"}, "behavior": "{{behavior}}", "invert": {{(invert ? "true" : "false")}}}""");
        Assert.Equal("ab|-|cd|-|-|e", Split("Isolated"));
        Assert.Equal("ab|cd|e", Split("Removed"));
        Assert.Equal("-|-|-", Split("Removed", invert: true));
        Assert.Equal("ab-|cd--|e", Split("MergedWithPrevious"));
        Assert.Equal("ab|-cd|--e", Split("MergedWithNext"));
        Assert.Equal("ab|-|cd|--|e", Split("Contiguous"));
        Assert.Equal("ab|-|cd|--|e", Words("""{"type": "Split", "pattern": {"Regex": "-+"}, "behavior": "Isolated"}"""));
        Assert.Equal("ab-cd--e", Words("""{"type": "Digits", "individual_digits": true}"""));
        Assert.Equal("▁ab-cd--e", Words("""{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true}"""));
        Assert.Equal("ab|-|cd|--|e", Words("""{"type": "ByteLevel", "add_prefix_space": false, "use_regex": true}"""));
        Assert.Equal("Ġab|-|cd|--|e", Words("""{"type": "ByteLevel", "add_prefix_space": true, "use_regex": true}"""));
    }

    [Theory]
    [InlineData("normalizer", """{"type": "BertNormalizer"}""", "BertNormalizer")]
    [InlineData("pre_tokenizer", """{"type": "Punctuation"}""", "Punctuation")]
    [InlineData("decoder", """{"type": "WordPiece"}""", "WordPiece")]
    [InlineData("post_processor", """{"type": "RobertaProcessing"}""", "RobertaProcessing")]
    [InlineData("model", """{"type": "Unigram", "vocab": []}""", "Unigram")]
    public void UnknownComponentsAreRefusedByName(string field, string component, string name)
    {
        var json = HuggingFaceFolder.Parse(SmallSentencePieceJson).AsObject();
        json[field] = HuggingFaceFolder.Parse(component);
        using var folder = new HuggingFaceFolder(json);
        var ex = Assert.Throws<ModelFormatException>(() => Tokenizer.FromHuggingFace(folder.Path));
        Assert.Contains(name, ex.Message);
        Assert.Contains("tokenizer.json", ex.Message);
    }

    [Fact]
    public void TokenizerConfigDecidesBosEosAndEndOfGeneration()
    {
        var json = HuggingFaceFolder.Parse(SmallSentencePieceJson).AsObject();
        using var folder = new HuggingFaceFolder(json, HuggingFaceFolder.Parse("""
            {"add_bos_token": false, "add_eos_token": true, "bos_token": {"content": "<s>"}, "eos_token": "</s>"}
            """));
        var t = Tokenizer.FromHuggingFace(folder.Path);
        Assert.False(t.AddBos);
        Assert.True(t.AddEos);
        Assert.Equal([14, 2], t.Encode("hi"));
        Assert.Contains(2, t.EndOfGenerationIds);
    }
}
