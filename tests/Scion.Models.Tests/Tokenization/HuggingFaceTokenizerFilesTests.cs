using System.Text.Json.Nodes;
using Scion.Models.Formats;
using Scion.Models.Tests.Formats;
using Scion.Models.Tokenization;
using Scion.Testing;

namespace Scion.Models.Tests.Tokenization;

/// <summary>A GGUF tokenizer written as tokenizer.json + tokenizer_config.json reads back as the same tokenizer.</summary>
public class HuggingFaceTokenizerFilesTests
{
    private static readonly string[] Texts =
    [
        "Once upon a time, there was a little girl named Lily.", " leading space", "two  spaces\nand a newline",
        "", "é and 🦙 fall back to bytes", "Tom's dog said: \"hi!\"", "<s> not special here </s>",
    ];

    private static void AssertSameTokenizer(Tokenizer expected, Tokenizer actual, int randomTexts)
    {
        Assert.Equal(expected.VocabSize, actual.VocabSize);
        Assert.Equal(expected.BosId, actual.BosId);
        Assert.Equal(expected.EosId, actual.EosId);
        Assert.Equal(expected.AddBos, actual.AddBos);
        var rng = new Random(11);
        foreach (var text in Texts.Concat(Enumerable.Range(0, randomTexts).Select(_ => RoundTripTests.RandomText(rng, rng.Next(1, 8)))))
        {
            var ids = expected.Encode(text);
            Assert.Equal(ids, actual.Encode(text));
            Assert.Equal(expected.Decode(ids, skipSpecial: true), actual.Decode(ids, skipSpecial: true));
        }
        Assert.Equal(expected.Encode("hi</s>", parseSpecial: true), actual.Encode("hi</s>", parseSpecial: true));
    }

    [Fact]
    public void SentencePieceGgufTokenizerRoundTripsThroughTokenizerJson()
    {
        using var gguf = GgufFile.Open(BundledModel.Stories260K);
        var original = Tokenizer.FromGguf(gguf.Metadata);
        using var dir = new TempDirectory();
        const string template = "{% for m in messages %}{{ m['content'] }}{% endfor %}";
        HuggingFaceTokenizerFiles.Write(dir.Path, original, gguf.Metadata, template, 512);
        AssertSameTokenizer(original, Tokenizer.FromHuggingFace(dir.Path), randomTexts: 300);

        var config = JsonNode.Parse(File.ReadAllText(dir.File("tokenizer_config.json")))!;
        Assert.Equal(template, (string?)config["chat_template"]);
        Assert.Equal("<s>", (string?)config["bos_token"]);
        Assert.Equal("</s>", (string?)config["eos_token"]);
        Assert.True((bool?)config["add_bos_token"]);
        var generation = JsonNode.Parse(File.ReadAllText(dir.File("generation_config.json")))!;
        Assert.Equal(original.BosId, (int?)generation["bos_token_id"]);
        Assert.Equal(original.EosId, (int?)generation["eos_token_id"]);
        // transformers' layout: a BPE model with byte fallback and [a, b] merges, Llama-2's normalizer and decoder.
        var json = JsonNode.Parse(File.ReadAllText(dir.File("tokenizer.json")))!;
        Assert.Equal("BPE", (string?)json["model"]!["type"]);
        Assert.True((bool?)json["model"]!["byte_fallback"]);
        Assert.True(json["model"]!["merges"]!.AsArray().Count > 0);
        Assert.Equal("Sequence", (string?)json["normalizer"]!["type"]);
        Assert.Equal("TemplateProcessing", (string?)json["post_processor"]!["type"]);
    }

    [Theory]
    [InlineData("ggml-vocab-gpt-2.gguf")]
    [InlineData("ggml-vocab-llama-spm.gguf")]
    public void LlamaCppVocabulariesRoundTripThroughTokenizerJson(string vocabFile)
    {
        using var gguf = GgufFile.Open(SharedData.Path("tokenizers", vocabFile));
        var original = Tokenizer.FromGguf(gguf.Metadata);
        using var dir = new TempDirectory();
        HuggingFaceTokenizerFiles.Write(dir.Path, original, gguf.Metadata, null, 4096);
        var written = Tokenizer.FromHuggingFace(dir.Path);
        AssertSameTokenizer(original, written, randomTexts: 100);
        foreach (var (text, ids) in VocabVectors.Load(vocabFile))
            Assert.Equal(ids, written.Encode(text, addSpecial: false));
    }
}
