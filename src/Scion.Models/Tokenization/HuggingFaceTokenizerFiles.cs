using System.Text.Json;
using System.Text.Json.Nodes;
using Scion.Models.Formats;

namespace Scion.Models.Tokenization;

/// <summary>
/// Writes a tokenizer as the files of a Hugging Face model folder, in transformers' layout: tokenizer.json (a BPE
/// model with its normalizer, pre-tokenizer, post-processor and decoder), tokenizer_config.json (special tokens,
/// add_bos/eos_token, the chat template) and generation_config.json (BOS/EOS ids). A merged model written as a
/// Hugging Face folder then carries its tokenizer and loads on its own, in Scion and in transformers.
/// </summary>
/// <remarks>
/// A SentencePiece vocabulary (GGUF "llama", llama2.c) becomes a byte-fallback BPE whose merges are every split of
/// a piece into two pieces, ranked by the merged piece's score: merging the best-ranked pair first is then the same
/// choice SentencePiece's highest-score-first merging makes. A byte-level vocabulary (GGUF "gpt2") keeps its merges
/// and gets its pre-tokenizer regexes as Split steps before a regex-free ByteLevel step.
/// </remarks>
public static class HuggingFaceTokenizerFiles
{
    public const string TokenizerFile = "tokenizer.json";
    public const string ConfigFile = "tokenizer_config.json";
    public const string GenerationConfigFile = "generation_config.json";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// Writes the three files into <paramref name="folder"/>. <paramref name="metadata"/> is the GGUF the tokenizer
    /// came from, needed for a byte-level vocabulary (its merges and pre-tokenizer name); null for other sources.
    /// </summary>
    public static void Write(string folder, Tokenizer tokenizer, GgufMetadata? metadata, string? chatTemplate, int contextLength)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        Directory.CreateDirectory(folder);
        var json = tokenizer.Kind switch
        {
            "llama" => SentencePieceJson(tokenizer),
            "gpt2" => ByteLevelJson(tokenizer, metadata ?? throw new NotSupportedException(
                "Writing a byte-level BPE tokenizer as tokenizer.json needs the GGUF metadata it came from (its merges and pre-tokenizer).")),
            _ => throw new NotSupportedException($"Writing a '{tokenizer.Kind}' tokenizer as tokenizer.json is not supported; copy the original files instead."),
        };
        Save(Path.Combine(folder, TokenizerFile), json);
        Save(Path.Combine(folder, ConfigFile), Config(tokenizer, chatTemplate, contextLength));
        Save(Path.Combine(folder, GenerationConfigFile), GenerationConfig(tokenizer));
    }

    private static void Save(string path, JsonNode node)
    {
        byte[] bytes = JsonSerializer.SerializeToUtf8Bytes(node, Indented);
        AtomicFile.Write(path, s => s.Write(bytes));
    }

    private static JsonObject SentencePieceJson(Tokenizer t)
    {
        var v = t.Vocab;
        var vocab = new JsonObject();
        for (int id = 0; id < v.Count; id++) vocab[v.Texts[id]] = id;
        // Merges: every way a mergeable piece splits into two mergeable pieces, best merged score first.
        bool Mergeable(int id) => id >= 0 && v.Types[id] is TokenType.Normal or TokenType.UserDefined;
        var merges = new List<(float Score, int Merged, int Left, string LeftText, string RightText)>();
        for (int id = 0; id < v.Count; id++)
        {
            if (!Mergeable(id)) continue;
            string text = v.Texts[id];
            for (int cut = 1; cut < text.Length; cut++)
            {
                if (char.IsLowSurrogate(text[cut])) continue;
                int left = v.Find(text.AsSpan(0, cut)), right = v.Find(text.AsSpan(cut));
                if (Mergeable(left) && Mergeable(right)) merges.Add((v.Scores[id], id, left, text[..cut], text[cut..]));
            }
        }
        merges.Sort((a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Merged != b.Merged ? a.Merged.CompareTo(b.Merged) : a.Left.CompareTo(b.Left));
        var mergeArray = new JsonArray();
        foreach (var m in merges) mergeArray.Add(new JsonArray(m.LeftText, m.RightText));

        var normalizers = new JsonArray();
        if (t.AddSpacePrefix) normalizers.Add(new JsonObject { ["type"] = "Prepend", ["prepend"] = "\u2581" });
        normalizers.Add(new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = " " }, ["content"] = "\u2581" });
        var decoders = new JsonArray
        {
            new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = "\u2581" }, ["content"] = " " },
            new JsonObject { ["type"] = "ByteFallback" },
            new JsonObject { ["type"] = "Fuse" },
        };
        if (t.StripsLeadingSpace) decoders.Add(new JsonObject { ["type"] = "Strip", ["content"] = " ", ["start"] = 1, ["stop"] = 0 });
        return new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = AddedTokens(t),
            ["normalizer"] = new JsonObject { ["type"] = "Sequence", ["normalizers"] = normalizers },
            ["pre_tokenizer"] = null,
            ["post_processor"] = PostProcessor(t, null),
            ["decoder"] = new JsonObject { ["type"] = "Sequence", ["decoders"] = decoders },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = t.UnknownId >= 0 ? v.Texts[t.UnknownId] : null,
                ["continuing_subword_prefix"] = null, ["end_of_word_suffix"] = null, ["fuse_unk"] = true, ["byte_fallback"] = true,
                ["ignore_merges"] = false, ["vocab"] = vocab, ["merges"] = mergeArray,
            },
        };
    }

    private static JsonObject ByteLevelJson(Tokenizer t, GgufMetadata metadata)
    {
        var v = t.Vocab;
        var pre = LlamaCppPreTokenizer.ForName(metadata.GetString("tokenizer.ggml.pre"), metadata.Source);
        var vocab = new JsonObject();
        for (int id = 0; id < v.Count; id++) vocab[v.Texts[id]] = id;
        var mergeArray = new JsonArray();
        foreach (var (left, right) in Tokenizer.ParseMerges(metadata.GetArray<string>("tokenizer.ggml.merges") ?? [])) mergeArray.Add(new JsonArray(left, right));
        var steps = new JsonArray();
        foreach (var pattern in pre.Patterns)
            steps.Add(new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = pattern }, ["behavior"] = "Isolated", ["invert"] = false });
        steps.Add(new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = false });
        var byteLevel = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = false, ["use_regex"] = true };
        return new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = AddedTokens(t),
            ["normalizer"] = null,
            ["pre_tokenizer"] = new JsonObject { ["type"] = "Sequence", ["pretokenizers"] = steps },
            ["post_processor"] = PostProcessor(t, byteLevel),
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true, ["use_regex"] = true },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = null, ["end_of_word_suffix"] = null,
                ["fuse_unk"] = false, ["byte_fallback"] = false, ["ignore_merges"] = pre.IgnoreMerges, ["vocab"] = vocab, ["merges"] = mergeArray,
            },
        };
    }

    /// <summary>Control, user-defined and unknown tokens, matched in text before the model runs (as transformers does).</summary>
    private static JsonArray AddedTokens(Tokenizer t)
    {
        var added = new JsonArray();
        for (int id = 0; id < t.VocabSize; id++)
        {
            var type = t.Vocab.Types[id];
            if (type is not (TokenType.Control or TokenType.UserDefined or TokenType.Unknown)) continue;
            added.Add(new JsonObject
            {
                ["id"] = id, ["content"] = t.Vocab.Texts[id], ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false,
                ["normalized"] = type == TokenType.UserDefined, ["special"] = type != TokenType.UserDefined,
            });
        }
        return added;
    }

    /// <summary>[BOS] $A [EOS] as the tokenizer adds them; <paramref name="otherwise"/> when it adds neither.</summary>
    private static JsonNode? PostProcessor(Tokenizer t, JsonObject? otherwise)
    {
        if (!t.AddBos && !t.AddEos) return otherwise;
        var single = new JsonArray();
        var pair = new JsonArray();
        var specials = new JsonObject();
        void Special(int id, JsonArray into, int typeId)
        {
            string text = t.Vocab.Texts[id];
            into.Add(new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = text, ["type_id"] = typeId } });
            specials[text] = new JsonObject { ["id"] = text, ["ids"] = new JsonArray(id), ["tokens"] = new JsonArray(text) };
        }
        if (t.AddBos) Special(t.BosId, single, 0);
        single.Add(new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } });
        if (t.AddEos) Special(t.EosId, single, 0);
        if (t.AddBos) Special(t.BosId, pair, 0);
        pair.Add(new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } });
        if (t.AddEos) Special(t.EosId, pair, 0);
        if (t.AddBos) Special(t.BosId, pair, 1);
        pair.Add(new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "B", ["type_id"] = 1 } });
        if (t.AddEos) Special(t.EosId, pair, 1);
        return new JsonObject { ["type"] = "TemplateProcessing", ["single"] = single, ["pair"] = pair, ["special_tokens"] = specials };
    }

    private static JsonObject Config(Tokenizer t, string? chatTemplate, int contextLength)
    {
        string? Text(int id) => id >= 0 ? t.Vocab.Texts[id] : null;
        var config = new JsonObject
        {
            ["add_bos_token"] = t.AddBos,
            ["add_eos_token"] = t.AddEos,
            ["bos_token"] = Text(t.BosId),
            ["eos_token"] = Text(t.EosId),
            ["unk_token"] = Text(t.UnknownId),
            ["pad_token"] = Text(t.PaddingId),
            ["clean_up_tokenization_spaces"] = false,
            ["model_max_length"] = contextLength,
            ["tokenizer_class"] = t.Kind == "llama" ? "LlamaTokenizerFast" : "PreTrainedTokenizerFast",
        };
        if (chatTemplate is not null) config["chat_template"] = chatTemplate;
        return config;
    }

    private static JsonObject GenerationConfig(Tokenizer t)
    {
        var config = new JsonObject();
        if (t.BosId >= 0) config["bos_token_id"] = t.BosId;
        // Every end-of-generation id, EOS first, as transformers lists several eos_token_id values.
        var ends = t.EndOfGenerationIds.Where(id => id != t.EosId).Order().ToList();
        if (t.EosId >= 0) ends.Insert(0, t.EosId);
        if (ends.Count == 1) config["eos_token_id"] = ends[0];
        else if (ends.Count > 1) config["eos_token_id"] = new JsonArray([.. ends.Select(id => (JsonNode)id)]);
        if (t.PaddingId >= 0) config["pad_token_id"] = t.PaddingId;
        return config;
    }
}
