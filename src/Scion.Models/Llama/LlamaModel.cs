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

    /// <summary>How the KV caches made for this model store keys and values (--cache-type-k / --cache-type-v);
    /// chosen once per load, before the first cache is made. Checked against the model when set.</summary>
    public KvCache.KvCacheFormat KvFormat
    {
        get => _kvFormat;
        set
        {
            value.Validate(Config);
            _kvFormat = value;
        }
    }
    private KvCache.KvCacheFormat _kvFormat = KvCache.KvCacheFormat.F16;

    /// <summary>A KV cache of <paramref name="maxTokens"/> positions in this model's <see cref="KvFormat"/>.</summary>
    public KvCache.PagedKvCache NewCache(int maxTokens, int blockSize = 16) => new(Config, maxTokens, blockSize, format: KvFormat);
    /// <summary>Metadata of a GGUF source (tokenizer, chat template), else null.</summary>
    public GgufMetadata? GgufMetadata { get; }

    public LlamaModel(LlamaConfig config, ITensorSource source, GgufMetadata? metadata = null)
    {
        Config = config;
        Source = source;
        GgufMetadata = metadata;
        Weights = LlamaWeights.Resolve(source, config);
        if (WeightPacking.Enabled)
            Weights = WeightPacking.Attach(Weights, WorkerPool.Shared, releaseSource: source is GgufTensorSource, _packed);
        Rope = new RotaryEmbedding(config, Weights.RopeFreqFactors);
    }

    public static LlamaModel LoadGguf(string path) =>
        DisposeOnFailure(GgufFile.Open(path), f => new LlamaModel(GgufConfigReader.Read(f), new GgufTensorSource(f), f.Metadata));

    /// <summary>A Hugging Face folder: config.json plus one or several safetensors files.</summary>
    public static LlamaModel LoadHuggingFace(string folder) =>
        DisposeOnFailure(HfModelFolder.Open(folder), hf =>
        {
            string configPath = System.IO.Path.Combine(folder, HfModelFolder.ConfigFileName);
            var config = ConfigMapping.FromHf(hf.Config, configPath);
            TensorAgreement.CheckHf(hf, hf.Config, config, configPath);
            return new LlamaModel(config, new HfTensorSource(hf));
        });

    /// <summary>A llama2.c checkpoint (.bin).</summary>
    public static LlamaModel LoadLlama2c(string path) =>
        DisposeOnFailure(Llama2cCheckpoint.Open(path), c => new LlamaModel(ConfigMapping.FromLlama2c(c.Config, path), new Llama2cTensorSource(c)));

    /// <summary>Builds a model over an opened file, closing the file if the model is refused.</summary>
    private static LlamaModel DisposeOnFailure<T>(T resource, Func<T, LlamaModel> build) where T : IDisposable
    {
        try
        {
            return build(resource);
        }
        catch
        {
            resource.Dispose();
            throw;
        }
    }

    /// <summary>Packed copies of the linear weights made at load (see <see cref="WeightPacking"/>), disposed with the model.</summary>
    private readonly List<Scion.Tensors.Packed.PackedWeights> _packed = [];

    /// <summary>Bytes of the packed weight copies this model owns (0 when none were made).</summary>
    public long PackedBytes => _packed.Sum(p => p.ByteCount);

    public void Dispose()
    {
        Source.Dispose();
        foreach (var p in _packed) p.Dispose();
        _packed.Clear();
    }
}
