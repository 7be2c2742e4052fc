using System.Text;
using System.Text.Json;
using Scion.Models.Formats;

namespace Scion.Models.Tokenization;

public sealed partial class Tokenizer
{
    /// <summary>
    /// A Hugging Face tokenizer folder: <c>tokenizer.json</c> (model BPE; normalizer, pre_tokenizer, decoder,
    /// post_processor and added_tokens), with <c>tokenizer_config.json</c> (bos/eos tokens, add_bos_token,
    /// add_eos_token) and <c>generation_config.json</c> (extra eos ids) when present. Components Scion does not
    /// implement are refused with their type name.
    /// </summary>
    public static Tokenizer FromHuggingFace(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        PathKind.RequireFolder(folder, "Hugging Face tokenizer folder");
        string path = Path.Combine(folder, "tokenizer.json");
        if (!File.Exists(path)) throw new FileNotFoundException($"{folder} has no tokenizer.json.", path);
        using var doc = ParseJson(path);
        using var config = File.Exists(Path.Combine(folder, "tokenizer_config.json")) ? ParseJson(Path.Combine(folder, "tokenizer_config.json")) : null;
        using var generation = File.Exists(Path.Combine(folder, "generation_config.json")) ? ParseJson(Path.Combine(folder, "generation_config.json")) : null;
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw new ModelFormatException($"{path}: expected a JSON object at the top level, found {root.ValueKind}.");

        var model = HuggingFaceJson.Required(root, "model", path, "tokenizer.json");
        if (model.ValueKind != JsonValueKind.Object) throw HuggingFaceJson.Wrong(path, "model", "an object", model);
        foreach (var (other, otherPath) in new[] { (config, "tokenizer_config.json"), (generation, "generation_config.json") })
            if (other is { RootElement.ValueKind: not JsonValueKind.Object })
                throw new ModelFormatException($"{Path.Combine(folder, otherPath)}: expected a JSON object at the top level, found {other.RootElement.ValueKind}.");
        string modelType = HuggingFaceJson.String(model, "type", "BPE", path, "model.type");
        if (modelType != "BPE") throw new ModelFormatException($"{path}: model type '{modelType}' is not supported (supported: BPE).");
        foreach (var unsupported in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
            if (model.TryGetProperty(unsupported, out var v) && v.ValueKind == JsonValueKind.String && v.GetString()!.Length > 0)
                throw new ModelFormatException($"{path}: BPE {unsupported} '{v.GetString()}' is not supported.");
        if (model.TryGetProperty("dropout", out var dropout) && dropout.ValueKind == JsonValueKind.Number && dropout.GetDouble() > 0)
            throw new ModelFormatException($"{path}: BPE dropout {dropout.GetDouble()} is not supported (inference needs deterministic merges).");

        // Vocabulary: model vocab plus added tokens, which may lie beyond it.
        var byId = new Dictionary<int, string>();
        foreach (var p in HuggingFaceJson.Object(HuggingFaceJson.Required(model, "vocab", path, "model"), path, "model.vocab"))
            byId[TokenId(p.Value, path, $"model.vocab[\"{p.Name}\"]")] = p.Name;
        var added = root.TryGetProperty("added_tokens", out var at) && at.ValueKind == JsonValueKind.Array ? at.EnumerateArray().ToList() : [];
        var addedIds = new List<int>(added.Count);
        foreach (var a in added)
        {
            int id = TokenId(HuggingFaceJson.Required(a, "id", path, "an added_tokens entry"), path, "added_tokens id");
            byId[id] = HuggingFaceJson.String(HuggingFaceJson.Required(a, "content", path, $"added token {id}"), path, $"added token {id} content");
            addedIds.Add(id);
        }
        int count = byId.Count == 0 ? 0 : byId.Keys.Max() + 1;
        // Ids may leave holes (filled as unused tokens), but not so many that a few bytes of JSON allocate gigabytes.
        if (count > 2L * byId.Count + MaxVocabularyHoles)
            throw new ModelFormatException($"{path}: token ids run up to {count - 1} for only {byId.Count} tokens; the ids are corrupt.");
        var texts = new string[count];
        var types = new TokenType[count];
        bool byteFallback = HuggingFaceJson.Bool(model, "byte_fallback", false);
        for (int i = 0; i < count; i++)
        {
            if (byId.TryGetValue(i, out var text)) (texts[i], types[i]) = (text, byteFallback && LlamaCppVocabRules.TryParseByteToken(text, out _) ? TokenType.Byte : TokenType.Normal);
            else (texts[i], types[i]) = ($"[UNUSED_{i}]", TokenType.Unused);
        }
        var lstrip = new HashSet<int>();
        var rstrip = new HashSet<int>();
        foreach (var (a, id) in added.Zip(addedIds))
        {
            types[id] = HuggingFaceJson.Bool(a, "special", false) ? TokenType.Control : TokenType.UserDefined;
            if (HuggingFaceJson.Bool(a, "lstrip", false)) lstrip.Add(id);
            if (HuggingFaceJson.Bool(a, "rstrip", false)) rstrip.Add(id);
        }
        string? unkText = model.TryGetProperty("unk_token", out var ut) && ut.ValueKind == JsonValueKind.String ? ut.GetString() : null;
        var vocab = new Vocabulary(texts, null, types);
        int unk = unkText is null ? -1 : vocab.Find(unkText);
        if (unkText is { Length: > 0 } && unk < 0)
            throw new ModelFormatException($"{path}: model.unk_token is \"{unkText}\", which is not in the vocabulary ({count} tokens).");
        if (unk >= 0 && types[unk] == TokenType.Normal) types[unk] = TokenType.Unknown;

        var merges = ReadMerges(model, path);
        var bpe = new BpeModel(vocab, merges, HuggingFaceJson.Bool(model, "ignore_merges", false),
            byteFallback ? BpeFallback.ByteTokens : BpeFallback.Unknown, unk, HuggingFaceJson.Bool(model, "fuse_unk", false));
        var encoder = new BpeFragmentEncoder(
            HuggingFaceNormalizers.Create(Optional(root, "normalizer"), path),
            HuggingFacePreTokenizers.Create(Optional(root, "pre_tokenizer"), path), bpe);
        var decoder = HuggingFaceDecoder.Create(Optional(root, "decoder"), path);
        var pieces = new byte[count][];
        for (int i = 0; i < count; i++)
            pieces[i] = types[i] switch
            {
                TokenType.Control or TokenType.UserDefined or TokenType.Unknown => Encoding.UTF8.GetBytes(texts[i]),
                TokenType.Unused => [],
                _ => decoder.Piece(texts[i]),
            };

        // BOS/EOS: tokenizer_config names them and may say whether to add them; else the post-processor template decides.
        var cfg = config?.RootElement;
        string configPath = Path.Combine(folder, "tokenizer_config.json"), generationPath = Path.Combine(folder, "generation_config.json");
        // A special token named but absent from the vocabulary is one transformers would append with a new id the
        // model has no embedding for; refused, naming the key, instead of silently having no BOS or EOS.
        int NamedToken(string key)
        {
            if (cfg is not { } c || HuggingFaceJson.TokenContent(c, key) is not { Length: > 0 } text) return -1;
            int id = vocab.Find(text);
            return id >= 0 ? id : throw new ModelFormatException(
                $"{configPath}: '{key}' is \"{text}\", which is not in the vocabulary of tokenizer.json ({count} tokens).");
        }
        int bos = NamedToken("bos_token");
        int eos = NamedToken("eos_token");
        _ = NamedToken("unk_token");
        int pad = cfg is { } c3 && HuggingFaceJson.TokenContent(c3, "pad_token") is { } padText ? vocab.Find(padText) : -1;
        var (templateBos, templateEos) = PostProcessorSpecials(Optional(root, "post_processor"), path, count);
        if (templateBos >= 0 && bos < 0) bos = templateBos;
        if (templateEos >= 0 && eos < 0) eos = templateEos;
        bool addBos = templateBos >= 0, addEos = templateEos >= 0;
        if (cfg is { } c4 && c4.TryGetProperty("add_bos_token", out var ab) && ab.ValueKind is JsonValueKind.True or JsonValueKind.False) addBos = ab.GetBoolean();
        if (cfg is { } c5 && c5.TryGetProperty("add_eos_token", out var ae) && ae.ValueKind is JsonValueKind.True or JsonValueKind.False) addEos = ae.GetBoolean();
        if (generation?.RootElement is { } gen)
        {
            if (gen.TryGetProperty("bos_token_id", out var gb) && gb.ValueKind != JsonValueKind.Null)
            {
                int id = GenerationId(gb, "bos_token_id", generationPath, count);
                if (bos < 0) bos = id;
            }
        }
        bool cleanSpaces = cfg is { } c6 && HuggingFaceJson.Bool(c6, "clean_up_tokenization_spaces", false);

        var eog = LlamaCppVocabRules.EndOfGeneration(vocab, eos, LlamaCppVocabRules.DetectEndOfTurn(vocab), vocab.Find("<|eom_id|>"));
        if (generation?.RootElement is { } g && g.TryGetProperty("eos_token_id", out var ge) && ge.ValueKind != JsonValueKind.Null)
        {
            if (ge.ValueKind == JsonValueKind.Array) foreach (var x in ge.EnumerateArray()) eog.Add(GenerationId(x, "eos_token_id", generationPath, count));
            else eog.Add(GenerationId(ge, "eos_token_id", generationPath, count));
            if (eos < 0 && eog.Count > 0) eos = eog.Min();
        }
        eog.RemoveWhere(id => id < 0 || id >= count);

        return new Tokenizer(new TokenizerParts(
            Kind: "huggingface-bpe", Vocab: vocab, Pieces: pieces, Splitter: new SpecialTokenSplitter(vocab, lstrip, rstrip), Encoder: encoder,
            BosId: bos, EosId: eos, UnknownId: unk, PaddingId: pad, AddBos: addBos, AddEos: addEos,
            AddSpacePrefix: false, StripsLeadingSpace: decoder.StripsLeadingSpace, CleanSpaces: cleanSpaces, EndOfGeneration: eog));
    }

    /// <summary>A token id of generation_config.json, refused naming the key when it is not an id of the vocabulary.</summary>
    private static int GenerationId(JsonElement value, string key, string path, int vocabSize)
    {
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out int id))
            throw new ModelFormatException($"{path}: '{key}' is {value.GetRawText()}, expected a token id or a list of them.");
        if (id < 0 || id >= vocabSize)
            throw new ModelFormatException($"{path}: '{key}' is {id}, outside the vocabulary of tokenizer.json ({vocabSize} tokens, ids 0 to {vocabSize - 1}).");
        return id;
    }

    private static JsonDocument ParseJson(string path) => JsonFields.ParseFile(path);

    /// <summary>How many ids a vocabulary may skip beyond its own size (unused slots are kept as [UNUSED_i] tokens).</summary>
    private const int MaxVocabularyHoles = 1 << 16;

    private static int TokenId(JsonElement value, string path, string what)
    {
        int id = HuggingFaceJson.Int(value, path, what);
        return id >= 0 ? id : throw new ModelFormatException($"{path}: {what} is {id}; token ids start at 0.");
    }

    private static JsonElement? Optional(JsonElement root, string name) =>
        root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Object ? v : null;

    /// <summary>Merges as ["a b", ...] (older files) or [["a", "b"], ...] (tokenizers 0.20+).</summary>
    private static List<(string, string)> ReadMerges(JsonElement model, string path)
    {
        var result = new List<(string, string)>();
        if (!model.TryGetProperty("merges", out var merges) || merges.ValueKind != JsonValueKind.Array) return result;
        int index = 0;
        foreach (var m in merges.EnumerateArray())
        {
            if (m.ValueKind == JsonValueKind.String)
            {
                string s = m.GetString()!;
                int space = s.IndexOf(' ', 1 <= s.Length ? 1 : 0);
                if (space < 0) throw new ModelFormatException($"{path}: merge {index} \"{s}\" has no space between its two parts.");
                result.Add((s[..space], s[(space + 1)..]));
            }
            else if (m.ValueKind == JsonValueKind.Array && m.GetArrayLength() == 2)
                result.Add((HuggingFaceJson.String(m[0], path, $"merge {index}"), HuggingFaceJson.String(m[1], path, $"merge {index}")));
            else throw new ModelFormatException($"{path}: merge {index} is {m.GetRawText()}, expected \"a b\" or [\"a\", \"b\"].");
            index++;
        }
        return result;
    }

    /// <summary>The special token a post-processor puts before (BOS) and after (EOS) a single sequence, -1 where none.</summary>
    private static (int Bos, int Eos) PostProcessorSpecials(JsonElement? json, string path, int vocabSize)
    {
        if (json is not { } e) return (-1, -1);
        string type = HuggingFaceJson.Type(e, path, "post_processor");
        switch (type)
        {
            case "ByteLevel":
                return (-1, -1);
            case "Sequence":
            {
                int bos = -1, eos = -1;
                foreach (var p in HuggingFaceJson.Array(HuggingFaceJson.Required(e, "processors", path, "post_processor Sequence"), path, "post_processor Sequence processors"))
                {
                    var (b, s) = PostProcessorSpecials(p, path, vocabSize);
                    if (b >= 0) bos = b;
                    if (s >= 0) eos = s;
                }
                return (bos, eos);
            }
            case "TemplateProcessing":
            {
                var single = HuggingFaceJson.Array(HuggingFaceJson.Required(e, "single", path, "post_processor TemplateProcessing"), path, "TemplateProcessing single").ToList();
                int SpecialIdAt(int index)
                {
                    if (index < 0 || index >= single.Count || HuggingFaceJson.Optional(single[index], "SpecialToken") is not { } st) return -1;
                    string name = HuggingFaceJson.String(HuggingFaceJson.Required(st, "id", path, "a TemplateProcessing SpecialToken"), path, "TemplateProcessing SpecialToken id");
                    if (HuggingFaceJson.Optional(e, "special_tokens") is not { } specials || HuggingFaceJson.Optional(specials, name) is not { } spec)
                        throw new ModelFormatException($"{path}: TemplateProcessing names special token '{name}' but special_tokens does not define it.");
                    var ids = HuggingFaceJson.Array(HuggingFaceJson.Required(spec, "ids", path, $"special token '{name}'"), path, $"special token '{name}' ids").ToList();
                    if (ids.Count != 1)
                        throw new ModelFormatException($"{path}: TemplateProcessing special token '{name}' has {ids.Count} ids; only one is supported.");
                    int id = HuggingFaceJson.Int(ids[0], path, $"special token '{name}' id");
                    if (id < 0 || id >= vocabSize)
                        throw new ModelFormatException($"{path}: TemplateProcessing special token '{name}' is id {id}, outside the vocabulary ({vocabSize} tokens).");
                    return id;
                }
                int sequences = single.Count(x => HuggingFaceJson.Optional(x, "Sequence") is not null);
                if (sequences != 1 || single.Count > 3 || (single.Count == 3 && (SpecialIdAt(0) < 0 || SpecialIdAt(2) < 0)))
                    throw new ModelFormatException($"{path}: TemplateProcessing 'single' template {e.GetProperty("single").GetRawText()} is not supported (only [BOS] $A [EOS]).");
                return (SpecialIdAt(0), SpecialIdAt(single.Count - 1));
            }
            default:
                throw new ModelFormatException($"{path}: post_processor type '{type}' is not supported (supported: TemplateProcessing, ByteLevel, Sequence).");
        }
    }
}
