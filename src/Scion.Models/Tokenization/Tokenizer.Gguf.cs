using Scion.Models.Formats;

namespace Scion.Models.Tokenization;

public sealed partial class Tokenizer
{
    /// <summary>
    /// The tokenizer stored in GGUF metadata (<c>tokenizer.ggml.*</c>): model "llama" (SentencePiece BPE with scores)
    /// or "gpt2" (byte-level BPE with merges and a <c>pre</c> regex set). Defaults and overrides as in llama.cpp's
    /// llama_vocab::load.
    /// </summary>
    public static Tokenizer FromGguf(GgufMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        string source = metadata.Source;
        string model = metadata.RequireString("tokenizer.ggml.model");
        var texts = metadata.GetArray<string>("tokenizer.ggml.tokens")
            ?? throw new ModelFormatException($"{source}: metadata key 'tokenizer.ggml.tokens' is missing.");
        texts = (string[])texts.Clone();
        for (int i = 0; i < texts.Length; i++) if (texts[i].Length == 0) texts[i] = $"[EMPTY_{i}]";
        var scores = metadata.GetArray<float>("tokenizer.ggml.scores");
        var rawTypes = metadata.GetArray<int>("tokenizer.ggml.token_type");
        if (scores is not null && scores.Length != texts.Length)
            throw new ModelFormatException($"{source}: tokenizer.ggml.scores has {scores.Length} entries for {texts.Length} tokens.");
        if (rawTypes is not null && rawTypes.Length != texts.Length)
            throw new ModelFormatException($"{source}: tokenizer.ggml.token_type has {rawTypes.Length} entries for {texts.Length} tokens.");
        var types = rawTypes?.Select(t => t is >= 0 and <= 6 ? (TokenType)t : TokenType.Undefined).ToArray();
        var vocab = new Vocabulary(texts, scores is null ? null : (float[])scores.Clone(), types);

        int bos, eos, unk;
        bool addBos, addEos = false, addSpacePrefix, cleanSpaces;
        Func<Vocabulary, int, FragmentEncoder> makeEncoder;
        switch (model)
        {
            case "llama":
                (bos, eos, unk) = (1, 2, 0);
                addBos = true;
                addSpacePrefix = true;
                cleanSpaces = false;
                makeEncoder = (v, unknown) => new SentencePieceFragmentEncoder(new SentencePieceBpe(v, unknown),
                    metadata.GetBool("tokenizer.ggml.add_space_prefix") ?? true);
                break;
            case "gpt2":
                (bos, eos, unk) = (11, 11, -1);
                var pre = LlamaCppPreTokenizer.ForName(metadata.GetString("tokenizer.ggml.pre"), source);
                addBos = pre.AddBos ?? false;
                addSpacePrefix = false;
                cleanSpaces = pre.CleanSpaces;
                var merges = metadata.GetArray<string>("tokenizer.ggml.merges")
                    ?? throw new ModelFormatException($"{source}: tokenizer.ggml.model is 'gpt2' but 'tokenizer.ggml.merges' is missing.");
                makeEncoder = (v, unknown) => new BpeFragmentEncoder(null, new LlamaCppBytePreTokenizer(pre.CreateSplitters()),
                    new BpeModel(v, ParseMerges(merges), pre.IgnoreMerges, BpeFallback.LlamaCppSingleBytes, unknown, fuseUnknown: false));
                break;
            default:
                throw new ModelFormatException($"{source}: tokenizer.ggml.model '{model}' is not supported (supported: 'llama', 'gpt2').");
        }
        addSpacePrefix = metadata.GetBool("tokenizer.ggml.add_space_prefix") ?? addSpacePrefix;

        // llama.cpp warns and keeps the default for an id outside the vocabulary; that default is a guess about a
        // vocabulary the file has just shown it does not describe, so the file is refused, naming the key. The one
        // out-of-range value that is meant is llama.cpp's "no token" (-1, written as u32 0xFFFFFFFF, as llama.cpp's
        // converter writes an absent padding id): it reads as if the key were absent, the default applying, as there.
        int SpecialId(string key, int fallback)
        {
            long? v = metadata.GetInteger(key);
            if (v is not long id || id is -1 or uint.MaxValue) return fallback;
            if (id < 0 || id >= texts.Length)
                throw new ModelFormatException(
                    $"{source}: metadata '{key}' is {id}, outside the vocabulary of {texts.Length} tokens (tokenizer.ggml.tokens, ids 0 to {texts.Length - 1}).");
            return (int)id;
        }
        bos = SpecialId("tokenizer.ggml.bos_token_id", bos);
        eos = SpecialId("tokenizer.ggml.eos_token_id", eos);
        unk = SpecialId("tokenizer.ggml.unknown_token_id", unk);
        int eot = SpecialId("tokenizer.ggml.eot_token_id", -1);
        int eom = SpecialId("tokenizer.ggml.eom_token_id", -1);
        int pad = SpecialId("tokenizer.ggml.padding_token_id", -1);
        addBos = metadata.GetBool("tokenizer.ggml.add_bos_token") ?? addBos;
        addEos = metadata.GetBool("tokenizer.ggml.add_eos_token") ?? addEos;
        if (bos >= texts.Length) bos = -1;
        if (eos >= texts.Length) eos = -1;
        if (unk >= texts.Length) unk = -1;

        if (eot < 0) eot = LlamaCppVocabRules.DetectEndOfTurn(vocab);
        if (eom < 0) eom = vocab.Find("<|eom_id|>");
        var eog = LlamaCppVocabRules.EndOfGeneration(vocab, eos, eot, eom);

        // Phi-3 GGUFs rely on llama.cpp eating the whitespace after their special tokens.
        HashSet<int>? rstrip = null;
        string name = (metadata.GetString("general.name") ?? "").ToLowerInvariant();
        if (name.Contains("phi-3") || name.Contains("phi3"))
        {
            rstrip = Enumerable.Range(0, vocab.Count).Where(id => vocab.Types[id] is TokenType.Control or TokenType.UserDefined or TokenType.Unknown).ToHashSet();
            if (vocab.Find("</s>") is >= 0 and var endId) rstrip.Add(endId);
            foreach (var keep in new[] { "<unk>", "<s>", "<|endoftext|>" }) rstrip.Remove(vocab.Find(keep));
        }

        var encoder = makeEncoder(vocab, unk);
        return new Tokenizer(new TokenizerParts(
            Kind: model, Vocab: vocab, Pieces: LlamaCppVocabRules.Pieces(vocab, byteLevel: model == "gpt2"),
            Splitter: new SpecialTokenSplitter(vocab, null, rstrip), Encoder: encoder,
            BosId: bos, EosId: eos, UnknownId: unk, PaddingId: pad, AddBos: addBos, AddEos: addEos,
            AddSpacePrefix: addSpacePrefix, StripsLeadingSpace: addSpacePrefix, CleanSpaces: cleanSpaces, EndOfGeneration: eog));
    }

    /// <summary>GGUF merges are "left right", split at the first space after the first char (as llama.cpp reads them).</summary>
    internal static IEnumerable<(string, string)> ParseMerges(string[] merges)
    {
        foreach (var merge in merges)
        {
            int space = merge.Length > 1 ? merge.IndexOf(' ', 1) : -1;
            if (space < 0) continue;
            yield return (merge[..space], merge[(space + 1)..]);
        }
    }
}
