namespace Scion.Models.Formats;

/// <summary>
/// The fields of a Hugging Face <c>config.json</c> that a Llama-family model needs. Defaults follow
/// transformers' LlamaConfig where a field is commonly omitted; the size fields are required.
/// </summary>
public sealed record HfConfig
{
    public string[] Architectures { get; init; } = [];
    public required string ModelType { get; init; }
    public required int HiddenSize { get; init; }
    public required int IntermediateSize { get; init; }
    public required int NumHiddenLayers { get; init; }
    public required int NumAttentionHeads { get; init; }
    /// <summary>Defaults to <see cref="NumAttentionHeads"/> (no GQA).</summary>
    public required int NumKeyValueHeads { get; init; }
    /// <summary>As written; null when absent (then <see cref="HeadDimOrDefault"/> is hidden_size / heads).</summary>
    public int? HeadDim { get; init; }
    public double RmsNormEps { get; init; } = 1e-6;
    public double RopeTheta { get; init; } = 10000;
    public HfRopeScaling? RopeScaling { get; init; }
    public int MaxPositionEmbeddings { get; init; } = 2048;
    public required int VocabSize { get; init; }
    public bool TieWordEmbeddings { get; init; }
    public bool AttentionBias { get; init; }
    public bool MlpBias { get; init; }
    public string HiddenAct { get; init; } = "silu";
    public string? TorchDtype { get; init; }
    public int? BosTokenId { get; init; }
    /// <summary>Empty when absent; several ids for models with more than one end token (Llama 3 instruct).</summary>
    public int[] EosTokenIds { get; init; } = [];
    public int? SlidingWindow { get; init; }
    /// <summary>The file this was read from, for messages.</summary>
    public string Source { get; init; } = "config.json";

    public int HeadDimOrDefault => HeadDim ?? HiddenSize / NumAttentionHeads;

    public static HfConfig Load(string path)
    {
        using var doc = JsonFields.ParseFile(path);
        return Parse(JsonFields.Root(doc, path));
    }

    public static HfConfig Parse(string json, string source)
    {
        using var doc = JsonFields.Parse(System.Text.Encoding.UTF8.GetBytes(json), source);
        return Parse(JsonFields.Root(doc, source));
    }

    private static HfConfig Parse(JsonFields f)
    {
        int heads = f.RequireInt("num_attention_heads");
        var config = new HfConfig
        {
            Source = f.Source,
            Architectures = f.GetStringList("architectures") ?? [],
            ModelType = f.RequireString("model_type"),
            HiddenSize = f.RequireInt("hidden_size"),
            IntermediateSize = f.RequireInt("intermediate_size"),
            NumHiddenLayers = f.RequireInt("num_hidden_layers"),
            NumAttentionHeads = heads,
            NumKeyValueHeads = f.GetInt("num_key_value_heads") ?? heads,
            HeadDim = f.GetInt("head_dim"),
            RmsNormEps = f.GetDouble("rms_norm_eps") ?? 1e-6,
            RopeTheta = f.GetDouble("rope_theta") ?? 10000,
            RopeScaling = ParseRopeScaling(f),
            MaxPositionEmbeddings = f.GetInt("max_position_embeddings") ?? 2048,
            VocabSize = f.RequireInt("vocab_size"),
            TieWordEmbeddings = f.GetBool("tie_word_embeddings") ?? false,
            AttentionBias = f.GetBool("attention_bias") ?? false,
            MlpBias = f.GetBool("mlp_bias") ?? false,
            HiddenAct = f.GetString("hidden_act") ?? "silu",
            TorchDtype = f.GetString("torch_dtype"),
            BosTokenId = f.GetIntOrIntList("bos_token_id") is { Length: > 0 } bos ? bos[0] : null,
            EosTokenIds = f.GetIntOrIntList("eos_token_id") ?? [],
            SlidingWindow = f.GetInt("sliding_window"),
        };
        config.Validate();
        return config;
    }

    private static HfRopeScaling? ParseRopeScaling(JsonFields f)
    {
        if (f.GetObject("rope_scaling") is not { } r) return null;
        string type = r.GetString("rope_type") ?? r.GetString("type")
            ?? throw new ModelFormatException($"{f.Source}: field 'rope_scaling' has neither 'rope_type' nor 'type'.");
        return new HfRopeScaling
        {
            RopeType = type,
            Factor = r.GetDouble("factor"),
            LowFreqFactor = r.GetDouble("low_freq_factor"),
            HighFreqFactor = r.GetDouble("high_freq_factor"),
            OriginalMaxPositionEmbeddings = r.GetInt("original_max_position_embeddings"),
        };
    }

    private void Validate()
    {
        Positive(HiddenSize, "hidden_size");
        Positive(IntermediateSize, "intermediate_size");
        Positive(NumHiddenLayers, "num_hidden_layers");
        Positive(NumAttentionHeads, "num_attention_heads");
        Positive(NumKeyValueHeads, "num_key_value_heads");
        Positive(VocabSize, "vocab_size");
        if (HeadDim is { } hd) Positive(hd, "head_dim");
        else if (HiddenSize % NumAttentionHeads != 0)
            throw new ModelFormatException($"{Source}: hidden_size {HiddenSize} is not a multiple of num_attention_heads {NumAttentionHeads}, and head_dim is not given.");
        if (NumAttentionHeads % NumKeyValueHeads != 0)
            throw new ModelFormatException($"{Source}: num_attention_heads {NumAttentionHeads} is not a multiple of num_key_value_heads {NumKeyValueHeads}.");
        if (HeadDimOrDefault % 2 != 0)
            throw new ModelFormatException($"{Source}: head dimension {HeadDimOrDefault} is odd; rotary embeddings need an even one.");
        if (!(RmsNormEps > 0)) throw new ModelFormatException($"{Source}: field 'rms_norm_eps' is {RmsNormEps}, expected a positive number.");
        if (!(RopeTheta > 0)) throw new ModelFormatException($"{Source}: field 'rope_theta' is {RopeTheta}, expected a positive number.");
        if (BosTokenId is { } bos) TokenId(bos, "bos_token_id");
        foreach (int eos in EosTokenIds) TokenId(eos, "eos_token_id");
    }

    private void TokenId(int id, string field)
    {
        if (id < 0 || id >= VocabSize)
            throw new ModelFormatException($"{Source}: field '{field}' is {id}, outside the vocabulary (vocab_size {VocabSize}, ids 0 to {VocabSize - 1}).");
    }

    private void Positive(int value, string field)
    {
        if (value <= 0) throw new ModelFormatException($"{Source}: field '{field}' is {value}, expected a positive integer.");
    }
}
