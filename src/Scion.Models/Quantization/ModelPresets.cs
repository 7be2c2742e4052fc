using Scion.Models.Formats;
using Scion.Models.Llama;

namespace Scion.Models.Quantization;

/// <summary>Named model shapes for `scion create`, and HF config.json files read as shapes.</summary>
public static class ModelPresets
{
    private static LlamaConfig Llama(int dim, int layers, int heads, int kvHeads, int ffn, int vocab, int context, float eps = 1e-5f) => new()
    {
        Architecture = "llama", Dim = dim, Layers = layers, Heads = heads, KvHeads = kvHeads, HeadDim = dim / heads,
        FfnDim = ffn, Vocab = vocab, RopeDim = dim / heads, ContextLength = context, RmsEps = eps,
    };

    /// <summary>Preset name → config. Shapes of public models (TinyLlama, karpathy's tinyllamas) with random weights.</summary>
    public static readonly IReadOnlyDictionary<string, LlamaConfig> All = new Dictionary<string, LlamaConfig>(StringComparer.OrdinalIgnoreCase)
    {
        // TinyLlama-1.1B: GQA 32/4, 22 layers.
        ["tinyllama-1.1b"] = Llama(2048, 22, 32, 4, 5632, 32000, 2048),
        // A ~100M-parameter GQA llama.
        ["100m"] = Llama(768, 12, 12, 4, 2048, 32000, 2048),
        // karpathy/tinyllamas shapes (Llama-2 vocabulary).
        ["stories15m"] = Llama(288, 6, 6, 6, 768, 32000, 256),
        ["stories42m"] = Llama(512, 8, 8, 8, 1376, 32000, 1024),
        ["stories110m"] = Llama(768, 12, 12, 12, 2048, 32000, 1024),
        // For tests: two layers, GQA, a vocabulary just big enough for the byte-level tokenizer.
        ["tiny"] = Llama(64, 2, 4, 2, 192, 512, 256),
    };

    /// <summary>A preset name, or the path of a Hugging Face config.json.</summary>
    public static LlamaConfig Resolve(string nameOrPath)
    {
        if (All.TryGetValue(nameOrPath, out var preset)) return preset;
        if (File.Exists(nameOrPath))
        {
            var config = ConfigMapping.FromHf(HfConfig.Load(nameOrPath), nameOrPath);
            // The GGUF will be read back with llama.cpp's interleaved rotary pairs (random weights need no permutation).
            return config with { RopeStyle = config.Architecture == "qwen2" ? RopeStyle.HalfSplit : RopeStyle.Interleaved };
        }
        throw new ArgumentException($"'{nameOrPath}' is neither a preset ({string.Join(", ", All.Keys)}) nor an existing config.json file.");
    }
}
