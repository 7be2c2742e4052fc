using Scion.Models.Formats;

namespace Scion.Models.Llama;

/// <summary>Builds a <see cref="LlamaConfig"/> from GGUF metadata (llama.cpp key names).</summary>
internal static class GgufConfigReader
{
    private static readonly HashSet<string> Supported = ["llama", "mistral", "qwen2"];

    public static LlamaConfig Read(GgufFile file)
    {
        var md = file.Metadata;
        string arch = md.RequireString("general.architecture");
        if (!Supported.Contains(arch))
            throw new ModelFormatException($"{file.Path}: architecture '{arch}' is not supported (supported: {string.Join(", ", Supported)}).");
        string p = arch + ".";
        // Every size is range-checked as it is read, before any arithmetic: a head count of 0 once divided by zero
        // here, and a u32 above 2^31 wrapped negative in the cast.
        int Size(string key, long? fallback = null, long min = 1)
        {
            long v = fallback is null ? md.RequireInteger(key) : md.GetInteger(key) ?? fallback.Value;
            if (v < min || v > int.MaxValue)
                throw new ModelFormatException($"{file.Path}: metadata '{key}' is {v}; expected an integer from {min} to {int.MaxValue}.");
            return (int)v;
        }
        int dim = Size(p + "embedding_length");
        int heads = Size(p + "attention.head_count");
        int kvHeads = Size(p + "attention.head_count_kv", heads);
        int headDim = Size(p + "attention.key_length", dim / heads);
        int valueDim = Size(p + "attention.value_length", headDim);
        if (valueDim != headDim)
            throw new ModelFormatException($"{file.Path}: attention.value_length {valueDim} differs from key_length {headDim}; not supported.");
        var embd = file.FindTensor(TensorNames.TokenEmbedding) ?? throw new ModelFormatException($"{file.Path}: tensor '{TensorNames.TokenEmbedding}' is missing.");
        int vocab = Size(p + "vocab_size", embd.Rows);

        RopeScaling? scaling = null;
        string? scalingType = md.GetString(p + "rope.scaling.type");
        if (scalingType is not null and not "none")
        {
            if (scalingType != "linear")
                throw new ModelFormatException($"{file.Path}: rope scaling type '{scalingType}' is not supported (supported: none, linear, and llama3 via rope_freqs).");
            scaling = new RopeScaling("linear", md.GetFloat(p + "rope.scaling.factor") ?? 1.0);
        }
        if (md.GetString(p + "pooling_type") is not null || md.Contains(p + "expert_count") && md.RequireInteger(p + "expert_count") > 0)
            throw new ModelFormatException($"{file.Path}: mixture-of-experts and pooling models are not supported.");

        var config = new LlamaConfig
        {
            Architecture = arch,
            Dim = dim,
            Layers = Size(p + "block_count"),
            Heads = heads,
            KvHeads = kvHeads,
            HeadDim = headDim,
            FfnDim = Size(p + "feed_forward_length"),
            Vocab = vocab,
            RmsEps = (float)(md.GetFloat(p + "attention.layer_norm_rms_epsilon") ?? 1e-5),
            RopeTheta = md.GetFloat(p + "rope.freq_base") ?? 10000.0,
            RopeDim = Size(p + "rope.dimension_count", headDim),
            // llama.cpp permutes Llama/Mistral Q and K rows for its adjacent-pair rotary mode; Qwen2 keeps HF order and uses NeoX mode.
            RopeStyle = arch == "qwen2" ? RopeStyle.HalfSplit : RopeStyle.Interleaved,
            RopeScaling = scaling,
            ContextLength = Size(p + "context_length", 2048),
            TiedEmbeddings = file.FindTensor(TensorNames.Output) is null,
            QkvBias = file.FindTensor(TensorNames.Layer(TensorNames.AttnQBias, 0)) is not null,
            SlidingWindow = Size(p + "attention.sliding_window", 0, min: 0),
        };
        config.Validate(file.Path);
        TensorAgreement.CheckGguf(file, config);
        return config;
    }
}
