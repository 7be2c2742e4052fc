using Scion.Models.Formats;
using Scion.Models.Llama;
using Scion.Models.Tokenization;

namespace Scion.Models.Quantization;

/// <summary>
/// The metadata of a model GGUF under llama.cpp's key names and value types (the ones its converter writes and
/// its loader reads): <c>general.*</c>, the <c>{arch}.*</c> hyper-parameters, and <c>tokenizer.*</c>.
/// </summary>
public static class GgufModelMetadata
{
    /// <summary>GGUF's quantization format version of the Q4_0/Q8_0/K-quant block layouts written here.</summary>
    public const uint QuantizationVersion = 2;
    public const uint Alignment = 32;

    /// <summary>Keys that describe one particular file and must not be copied into another.</summary>
    public static bool IsFileSpecific(string key) => key is "general.file_type" or "general.quantization_version" or "general.alignment"
        || key.StartsWith("split.", StringComparison.Ordinal);

    /// <summary>general.architecture, general.name and the hyper-parameters <see cref="LlamaConfig"/> holds.</summary>
    public static void WriteConfig(GgufWriter w, LlamaConfig c, string? name)
    {
        string p = c.Architecture + ".";
        w.Set("general.architecture", c.Architecture);
        if (!string.IsNullOrEmpty(name)) w.Set("general.name", name);
        w.Set(p + "context_length", (uint)c.ContextLength);
        w.Set(p + "embedding_length", (uint)c.Dim);
        w.Set(p + "block_count", (uint)c.Layers);
        w.Set(p + "feed_forward_length", (uint)c.FfnDim);
        w.Set(p + "attention.head_count", (uint)c.Heads);
        w.Set(p + "attention.head_count_kv", (uint)c.KvHeads);
        if (c.HeadDim * c.Heads != c.Dim)
        {
            w.Set(p + "attention.key_length", (uint)c.HeadDim);
            w.Set(p + "attention.value_length", (uint)c.HeadDim);
        }
        w.Set(p + "attention.layer_norm_rms_epsilon", c.RmsEps);
        w.Set(p + "rope.freq_base", (float)c.RopeTheta);
        w.Set(p + "rope.dimension_count", (uint)c.RopeDim);
        w.Set(p + "vocab_size", (uint)c.Vocab);
        // llama3 scaling travels as the rope_freqs tensor (as llama.cpp's converter stores it), linear as keys.
        if (c.RopeScaling is { Type: "linear" } s)
        {
            w.Set(p + "rope.scaling.type", "linear");
            w.Set(p + "rope.scaling.factor", (float)s.Factor);
        }
    }

    /// <summary>general.file_type, general.quantization_version and general.alignment.</summary>
    public static void WriteFileKeys(GgufWriter w, uint fileType)
    {
        w.Set("general.file_type", fileType);
        w.Set("general.quantization_version", QuantizationVersion);
        w.Set("general.alignment", Alignment);
    }

    /// <summary>Copies every <c>tokenizer.*</c> key (vocabulary, merges, special ids, chat template) of another GGUF.</summary>
    public static int CopyTokenizer(GgufWriter w, GgufMetadata source)
    {
        int n = 0;
        foreach (var (key, value) in source.Values)
        {
            if (!key.StartsWith("tokenizer.", StringComparison.Ordinal)) continue;
            w.Set(key, value);
            n++;
        }
        return n;
    }

    /// <summary>Token count of the tokenizer stored in GGUF metadata, or null if it has none.</summary>
    public static int? TokenCount(GgufMetadata md) => md.GetArray<string>("tokenizer.ggml.tokens")?.Length;

    /// <summary>
    /// Writes a SentencePiece-style ("llama") tokenizer as llama.cpp stores it: tokens, scores, types, special ids.
    /// Returns false for other kinds (byte-level BPE needs its merges, which only a GGUF or tokenizer.json carries).
    /// </summary>
    public static bool TryWriteTokenizer(GgufWriter w, Tokenizer t)
    {
        if (t.Kind != "llama") return false;
        var v = t.Vocab;
        w.Set("tokenizer.ggml.model", "llama");
        w.Set("tokenizer.ggml.tokens", (string[])v.Texts.Clone());
        w.Set("tokenizer.ggml.scores", (float[])v.Scores.Clone());
        w.Set("tokenizer.ggml.token_type", v.Types.Select(x => (int)x).ToArray());
        if (t.BosId >= 0) w.Set("tokenizer.ggml.bos_token_id", (uint)t.BosId);
        if (t.EosId >= 0) w.Set("tokenizer.ggml.eos_token_id", (uint)t.EosId);
        if (t.UnknownId >= 0) w.Set("tokenizer.ggml.unknown_token_id", (uint)t.UnknownId);
        if (t.PaddingId >= 0) w.Set("tokenizer.ggml.padding_token_id", (uint)t.PaddingId);
        w.Set("tokenizer.ggml.add_bos_token", t.AddBos);
        w.Set("tokenizer.ggml.add_eos_token", t.AddEos);
        w.Set("tokenizer.ggml.add_space_prefix", t.AddSpacePrefix);
        return true;
    }

    /// <summary>Smallest vocabulary <see cref="WriteByteVocabulary"/> can fill: three specials, 256 byte tokens and the space mark.</summary>
    public const int ByteVocabularyMinimum = 3 + 256 + 1;

    /// <summary>
    /// A minimal SentencePiece vocabulary that can encode any text: &lt;unk&gt;, &lt;s&gt;, &lt;/s&gt;, the 256
    /// byte-fallback tokens &lt;0xNN&gt;, the SentencePiece space mark U+2581 (spaces become it before encoding and
    /// it decodes back to a space, which its three UTF-8 bytes would not), then filler tokens up to <paramref name="size"/> that no text merges into
    /// (their pieces are not reachable from single characters), so encoding is pure byte fallback.
    /// </summary>
    public static void WriteByteVocabulary(GgufWriter w, int size)
    {
        if (size < ByteVocabularyMinimum)
            throw new ArgumentException($"A byte-level vocabulary needs at least {ByteVocabularyMinimum} tokens; the model has {size}.");
        var tokens = new string[size];
        var scores = new float[size];
        var types = new int[size];
        (tokens[0], types[0]) = ("<unk>", (int)TokenType.Unknown);
        (tokens[1], types[1]) = ("<s>", (int)TokenType.Control);
        (tokens[2], types[2]) = ("</s>", (int)TokenType.Control);
        for (int b = 0; b < 256; b++) (tokens[3 + b], types[3 + b]) = ($"<0x{b:X2}>", (int)TokenType.Byte);
        (tokens[259], types[259]) = ("\u2581", (int)TokenType.Normal);
        for (int i = ByteVocabularyMinimum; i < size; i++)
        {
            tokens[i] = $"[filler{i}]";
            types[i] = (int)TokenType.Normal;
            scores[i] = -i;
        }
        w.Set("tokenizer.ggml.model", "llama");
        w.Set("tokenizer.ggml.tokens", tokens);
        w.Set("tokenizer.ggml.scores", scores);
        w.Set("tokenizer.ggml.token_type", types);
        w.Set("tokenizer.ggml.bos_token_id", 1u);
        w.Set("tokenizer.ggml.eos_token_id", 2u);
        w.Set("tokenizer.ggml.unknown_token_id", 0u);
        w.Set("tokenizer.ggml.add_bos_token", true);
        w.Set("tokenizer.ggml.add_eos_token", false);
    }
}
