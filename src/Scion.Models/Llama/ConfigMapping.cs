using Scion.Models.Formats;

namespace Scion.Models.Llama;

/// <summary>Turns Hugging Face and llama2.c configurations into <see cref="LlamaConfig"/>, refusing what the engine cannot run.</summary>
internal static class ConfigMapping
{
    private static readonly Dictionary<string, string> HfArchitectures = new()
    {
        ["LlamaForCausalLM"] = "llama",
        ["MistralForCausalLM"] = "mistral",
        ["Qwen2ForCausalLM"] = "qwen2",
    };

    public static LlamaConfig FromHf(HfConfig hf, string source)
    {
        string? arch = hf.Architectures.Select(a => HfArchitectures.GetValueOrDefault(a)).FirstOrDefault(a => a is not null);
        if (arch is null)
        {
            string found = hf.Architectures.Length > 0 ? string.Join(", ", hf.Architectures) : $"model_type '{hf.ModelType}'";
            throw new ModelFormatException($"{source}: architecture {found} is not supported (supported: {string.Join(", ", HfArchitectures.Keys)}).");
        }
        if (hf.HiddenAct is not ("silu" or "swish"))
            throw new ModelFormatException($"{source}: hidden_act '{hf.HiddenAct}' is not supported (expected silu).");
        if (hf.MlpBias)
            throw new ModelFormatException($"{source}: mlp_bias = true is not supported.");
        RopeScaling? scaling = null;
        if (hf.RopeScaling is { } rs && rs.RopeType is not ("default" or ""))
        {
            scaling = rs.RopeType switch
            {
                "llama3" => new RopeScaling("llama3", rs.Factor ?? 8, rs.LowFreqFactor ?? 1, rs.HighFreqFactor ?? 4, rs.OriginalMaxPositionEmbeddings ?? 8192),
                "linear" => new RopeScaling("linear", rs.Factor ?? 1),
                _ => throw new ModelFormatException($"{source}: rope_scaling type '{rs.RopeType}' is not supported (supported: llama3, linear)."),
            };
        }
        int headDim = hf.HeadDimOrDefault;
        var config = new LlamaConfig
        {
            Architecture = arch,
            Dim = hf.HiddenSize,
            Layers = hf.NumHiddenLayers,
            Heads = hf.NumAttentionHeads,
            KvHeads = hf.NumKeyValueHeads,
            HeadDim = headDim,
            FfnDim = hf.IntermediateSize,
            Vocab = hf.VocabSize,
            RmsEps = (float)hf.RmsNormEps,
            RopeTheta = hf.RopeTheta,
            RopeDim = headDim,
            // HF keeps Q/K rows in rotate_half order, so the rotation pairs (i, i + d/2) and nothing is permuted.
            RopeStyle = RopeStyle.HalfSplit,
            RopeScaling = scaling,
            ContextLength = hf.MaxPositionEmbeddings,
            TiedEmbeddings = hf.TieWordEmbeddings,
            QkvBias = hf.AttentionBias || arch == "qwen2",
            // Qwen2 configs carry sliding_window too, but transformers applies it only under use_sliding_window (off in released models).
            SlidingWindow = arch == "mistral" && hf.SlidingWindow is { } w && w < hf.MaxPositionEmbeddings ? w : 0,
        };
        config.Validate(source);
        return config;
    }

    public static LlamaConfig FromLlama2c(Llama2cConfig c, string source)
    {
        var config = new LlamaConfig
        {
            Architecture = "llama",
            Dim = c.Dim,
            Layers = c.Layers,
            Heads = c.Heads,
            KvHeads = c.KvHeads,
            HeadDim = c.HeadSize,
            FfnDim = c.HiddenDim,
            Vocab = c.VocabSize,
            RmsEps = 1e-5f,
            RopeDim = c.HeadSize,
            RopeStyle = RopeStyle.Interleaved,
            ContextLength = c.SeqLen,
            TiedEmbeddings = c.SharedClassifier,
        };
        config.Validate(source);
        return config;
    }
}
