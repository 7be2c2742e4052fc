using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Scion.Models.Tokenization;

namespace Scion.Fuzz.Targets;

/// <summary>A Hugging Face tokenizer.json in a folder of its own, loaded and run over probe texts.</summary>
public sealed class TokenizerJsonTarget : FuzzTarget
{
    public override string Name => "tokenizer-json";

    public override string Covers =>
        "Tokenizer.FromHuggingFace (model vocab, merges in both forms, added tokens, normalizers, pre-tokenizers, " +
        "decoders, post-processor) and an encode/decode round of probe texts.";

    public override void Run(byte[] input)
    {
        string dir = Scratch.Folder("tokenizer");
        File.WriteAllBytes(Path.Combine(dir, "tokenizer.json"), input);
        GgufTarget.Exercise(Tokenizer.FromHuggingFace(dir));
    }

    public override IEnumerable<(string, byte[])> Seeds()
    {
        var (tokens, merges) = Fuzz.Seeds.ByteLevelPieces();
        var byteVocab = new JsonObject();
        for (int i = 0; i < tokens.Length - 1; i++) byteVocab[tokens[i]] = i;
        int eot = tokens.Length - 1;
        yield return ("byte-level.json", Json(new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = new JsonArray(new JsonObject { ["id"] = eot, ["content"] = Fuzz.Seeds.EndOfText, ["special"] = true, ["lstrip"] = false, ["rstrip"] = false }),
            ["normalizer"] = null,
            ["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+" }, ["behavior"] = "Isolated", ["invert"] = false },
                    new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = false }),
            },
            ["post_processor"] = new JsonObject
            {
                ["type"] = "TemplateProcessing",
                ["single"] = new JsonArray(new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = Fuzz.Seeds.EndOfText, ["type_id"] = 0 } },
                    new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } }),
                ["special_tokens"] = new JsonObject { [Fuzz.Seeds.EndOfText] = new JsonObject { ["id"] = Fuzz.Seeds.EndOfText, ["ids"] = new JsonArray(eot), ["tokens"] = new JsonArray(Fuzz.Seeds.EndOfText) } },
            },
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true, ["use_regex"] = true },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["fuse_unk"] = false, ["byte_fallback"] = false, ["ignore_merges"] = true,
                ["vocab"] = byteVocab,
                ["merges"] = new JsonArray([.. merges.Select(m => (JsonNode)new JsonArray(m.Split(' ')[0], m.Split(' ')[1]))]),
            },
        }));

        // SentencePiece-style: Metaspace, byte fallback tokens, string merges, a Sequence decoder.
        var spmVocab = new JsonObject { ["<unk>"] = 0, ["<s>"] = 1, ["</s>"] = 2 };
        for (int b = 0; b < 256; b++) spmVocab[$"<0x{b:X2}>"] = 3 + b;
        string[] pieces = ["▁", "a", "b", "c", "t", "h", "e", "▁t", "he", "▁the", "▁a", "ab", "▁ab"];
        foreach (var p in pieces) spmVocab[p] = spmVocab.Count;
        yield return ("sentencepiece.json", Json(new JsonObject
        {
            ["added_tokens"] = new JsonArray(
                new JsonObject { ["id"] = 0, ["content"] = "<unk>", ["special"] = true },
                new JsonObject { ["id"] = 1, ["content"] = "<s>", ["special"] = true },
                new JsonObject { ["id"] = 2, ["content"] = "</s>", ["special"] = true }),
            ["normalizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["normalizers"] = new JsonArray(new JsonObject { ["type"] = "Prepend", ["prepend"] = "▁" },
                    new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = " " }, ["content"] = "▁" }, new JsonObject { ["type"] = "NFKC" }),
            },
            ["pre_tokenizer"] = new JsonObject { ["type"] = "Metaspace", ["replacement"] = "▁", ["prepend_scheme"] = "first", ["split"] = false },
            ["decoder"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["decoders"] = new JsonArray(new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = "▁" }, ["content"] = " " },
                    new JsonObject { ["type"] = "ByteFallback" }, new JsonObject { ["type"] = "Fuse" },
                    new JsonObject { ["type"] = "Strip", ["content"] = " ", ["start"] = 1, ["stop"] = 0 }),
            },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["unk_token"] = "<unk>", ["fuse_unk"] = true, ["byte_fallback"] = true,
                ["vocab"] = spmVocab,
                ["merges"] = new JsonArray("▁ t", "h e", "▁t he", "▁ a", "a b", "▁ ab"),
            },
        }));

        yield return ("whitespace-digits.json", Json(new JsonObject
        {
            ["normalizer"] = new JsonObject { ["type"] = "Lowercase" },
            ["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(new JsonObject { ["type"] = "WhitespaceSplit" }, new JsonObject { ["type"] = "Digits", ["individual_digits"] = true }),
            },
            ["model"] = new JsonObject { ["type"] = "BPE", ["unk_token"] = "[UNK]", ["vocab"] = new JsonObject { ["[UNK]"] = 0, ["a"] = 1, ["1"] = 2, ["b"] = 3, ["ab"] = 4 }, ["merges"] = new JsonArray("a b") },
        }));
    }

    private static byte[] Json(JsonObject o) => Encoding.UTF8.GetBytes(o.ToJsonString(new JsonSerializerOptions { WriteIndented = false }));
}
