using Scion.Models.Formats;
using Scion.Tensors;

namespace Scion.Models.Llama;

/// <summary>A loaded Llama-family model: configuration, memory-mapped weights and (when the files carry one) its tokenizer.</summary>
public sealed partial class LlamaModel : IDisposable
{
    public LlamaConfig Config { get; }
    public LlamaWeights Weights { get; }
    public ITensorSource Source { get; }
    public RotaryEmbedding Rope { get; }
    public WorkerPool Pool { get; set; } = WorkerPool.Shared;
    /// <summary>Metadata of a GGUF source (tokenizer, chat template), else null.</summary>
    public GgufMetadata? GgufMetadata { get; }

    public LlamaModel(LlamaConfig config, ITensorSource source, GgufMetadata? metadata = null)
    {
        Config = config;
        Source = source;
        GgufMetadata = metadata;
        Weights = LlamaWeights.Resolve(source, config);
        Rope = new RotaryEmbedding(config, Weights.RopeFreqFactors);
    }

    public static LlamaModel LoadGguf(string path)
    {
        var file = GgufFile.Open(path);
        try
        {
            return new LlamaModel(GgufConfigReader.Read(file), new GgufTensorSource(file), file.Metadata);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>A Hugging Face folder: config.json plus one or several safetensors files.</summary>
    public static LlamaModel LoadHuggingFace(string folder)
    {
        var hf = HfModelFolder.Open(folder);
        try
        {
            var config = ConfigMapping.FromHf(hf.Config, System.IO.Path.Combine(folder, HfModelFolder.ConfigFileName));
            return new LlamaModel(config, new HfTensorSource(hf));
        }
        catch
        {
            hf.Dispose();
            throw;
        }
    }

    /// <summary>A llama2.c checkpoint (.bin).</summary>
    public static LlamaModel LoadLlama2c(string path)
    {
        var ckpt = Llama2cCheckpoint.Open(path);
        try
        {
            return new LlamaModel(ConfigMapping.FromLlama2c(ckpt.Config, path), new Llama2cTensorSource(ckpt));
        }
        catch
        {
            ckpt.Dispose();
            throw;
        }
    }

    public void Dispose() => Source.Dispose();
}
