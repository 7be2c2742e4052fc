using System.Runtime.InteropServices;

namespace Scion.Models.Formats;

/// <summary>
/// A llama2.c checkpoint (Karpathy's legacy export): a header of 7 int32, then fp32 tensors back to back in a
/// fixed order, memory-mapped. Q and K rows are in the interleaved-pair rotary order of Meta's original
/// checkpoints, which is also GGUF's order: they need NO <see cref="RotaryPermutation"/> to match a GGUF
/// (stories260K.bin's wq equals stories260K.gguf's attn_q byte for byte; see Llama2cCheckpointTests).
/// </summary>
public sealed unsafe class Llama2cCheckpoint : IDisposable
{
    public const int HeaderBytes = 7 * sizeof(int);
    /// <summary>"ak42": the newer versioned llama2.c export, which this reader does not handle.</summary>
    private const uint VersionedMagic = 0x616b3432;

    /// <summary>The words that begin the reason when a file's header is not a llama2.c header at all.</summary>
    public const string NotACheckpoint = "not a llama2.c checkpoint";

    private readonly MappedFile _file;
    private readonly Dictionary<string, Llama2cTensorInfo> _byName;

    public string Path => _file.Path;
    public Llama2cConfig Config { get; }
    /// <summary>Every tensor in file order, including the unused freq_cis_real/imag tables.</summary>
    public IReadOnlyList<Llama2cTensorInfo> Tensors { get; }

    public Llama2cTensorInfo TokenEmbedding => _byName["token_embedding"]; // [vocab, dim]
    public Llama2cTensorInfo RmsAtt => _byName["rms_att"];                // [layers, dim]
    public Llama2cTensorInfo Wq => _byName["wq"];                         // [layers, dim, dim]
    public Llama2cTensorInfo Wk => _byName["wk"];                         // [layers, kv_dim, dim]
    public Llama2cTensorInfo Wv => _byName["wv"];                         // [layers, kv_dim, dim]
    public Llama2cTensorInfo Wo => _byName["wo"];                         // [layers, dim, dim]
    public Llama2cTensorInfo RmsFfn => _byName["rms_ffn"];                // [layers, dim]
    public Llama2cTensorInfo W1 => _byName["w1"];                         // [layers, hidden, dim]  gate
    public Llama2cTensorInfo W2 => _byName["w2"];                         // [layers, dim, hidden]  down
    public Llama2cTensorInfo W3 => _byName["w3"];                         // [layers, hidden, dim]  up
    public Llama2cTensorInfo RmsFinal => _byName["rms_final"];            // [dim]
    /// <summary>[vocab, dim]; the token embedding itself when the classifier is shared.</summary>
    public Llama2cTensorInfo Classifier => _byName.GetValueOrDefault("wcls") ?? TokenEmbedding;

    private Llama2cCheckpoint(MappedFile file, Llama2cConfig config, List<Llama2cTensorInfo> tensors)
    {
        _file = file;
        Config = config;
        Tensors = tensors;
        _byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    public static Llama2cCheckpoint Open(string path) => MappedFile.OpenAndParse(path, file =>
    {
        var config = ReadConfig(file);
        var tensors = Layout(config);
        long expected = tensors[^1].Offset + tensors[^1].ByteSize;
        if (file.Length != expected)
            throw new ModelFormatException(
                $"{path}: llama2.c checkpoint should be {expected} bytes for {Describe(config)}, but is {file.Length} bytes.");
        return new Llama2cCheckpoint(file, config, tensors);
    });

    public Llama2cTensorInfo? FindTensor(string name) => _byName.GetValueOrDefault(name);

    public float* TensorData(Llama2cTensorInfo info) => (float*)(_file.Pointer + info.Offset);

    public ReadOnlySpan<float> TensorSpan(Llama2cTensorInfo info) =>
        MemoryMarshal.Cast<byte, float>(_file.Span(info.Offset, info.ByteSize));

    /// <summary>One layer's slice of a stacked per-layer tensor (wq → [dim, dim] of that layer).</summary>
    public ReadOnlySpan<float> LayerSpan(Llama2cTensorInfo info, int layer)
    {
        if (info.Shape.Length < 2 || info.Shape[0] != Config.Layers)
            throw new ArgumentException($"Tensor '{info.Name}' is not stacked per layer.", nameof(info));
        ArgumentOutOfRangeException.ThrowIfNegative(layer);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(layer, Config.Layers);
        long perLayer = info.ElementCount / Config.Layers;
        return MemoryMarshal.Cast<byte, float>(_file.Span(info.Offset + layer * perLayer * sizeof(float), perLayer * sizeof(float)));
    }

    public void Dispose() => _file.Dispose();

    private static Llama2cConfig ReadConfig(MappedFile file)
    {
        if (file.Length < HeaderBytes)
            throw new ModelFormatException($"{file.Path}: {NotACheckpoint} (the file is {file.Length} bytes, too short for its {HeaderBytes}-byte header).");
        int[] fields = MemoryMarshal.Cast<byte, int>(file.Span(0, HeaderBytes)).ToArray(); // little-endian, as every .NET target
        if ((uint)fields[0] == VersionedMagic)
            throw new ModelFormatException($"{file.Path}: this is a versioned llama2.c export (magic \"ak42\"); only the legacy format (7-int header, fp32) is supported.");
        int dim = fields[0], hidden = fields[1], layers = fields[2], heads = fields[3], kvHeads = fields[4], vocab = fields[5], seqLen = fields[6];

        void Positive(int value, string name)
        {
            // The bounds keep every offset computation far from overflow; real checkpoints are much smaller.
            if (value <= 0 || value > 1 << 20)
                throw new ModelFormatException($"{file.Path}: {NotACheckpoint} (header field {name} is {value}, expected 1 to {1 << 20}).");
        }
        Positive(dim, "dim"); Positive(hidden, "hidden_dim"); Positive(layers, "n_layers"); Positive(heads, "n_heads");
        Positive(kvHeads, "n_kv_heads"); Positive(seqLen, "seq_len");
        if (vocab == 0 || vocab == int.MinValue) Positive(vocab, "vocab_size");
        Positive(Math.Abs(vocab), "vocab_size");
        if (dim % heads != 0)
            throw new ModelFormatException($"{file.Path}: llama2.c header dim {dim} is not a multiple of n_heads {heads}.");
        if (heads % kvHeads != 0)
            throw new ModelFormatException($"{file.Path}: llama2.c header n_heads {heads} is not a multiple of n_kv_heads {kvHeads}.");
        if (dim / heads % 2 != 0)
            throw new ModelFormatException($"{file.Path}: llama2.c head size {dim / heads} is odd; rotary embeddings need an even one.");
        return new Llama2cConfig
        {
            Dim = dim, HiddenDim = hidden, Layers = layers, Heads = heads, KvHeads = kvHeads,
            VocabSize = Math.Abs(vocab), SeqLen = seqLen, SharedClassifier = vocab > 0,
        };
    }

    private static List<Llama2cTensorInfo> Layout(Llama2cConfig c)
    {
        var list = new List<Llama2cTensorInfo>();
        long offset = HeaderBytes;
        void Add(string name, params long[] shape)
        {
            var t = new Llama2cTensorInfo(name, shape, offset);
            list.Add(t);
            offset += t.ByteSize;
        }
        long L = c.Layers, dim = c.Dim, kv = c.KvDim, hidden = c.HiddenDim;
        Add("token_embedding", c.VocabSize, dim);
        Add("rms_att", L, dim);
        Add("wq", L, dim, dim);
        Add("wk", L, kv, dim);
        Add("wv", L, kv, dim);
        Add("wo", L, dim, dim);
        Add("rms_ffn", L, dim);
        Add("w1", L, hidden, dim);
        Add("w2", L, dim, hidden);
        Add("w3", L, hidden, dim);
        Add("rms_final", dim);
        // Precomputed RoPE tables from old exports; the model computes its own, so these are only skipped.
        Add("freq_cis_real", c.SeqLen, c.HeadSize / 2);
        Add("freq_cis_imag", c.SeqLen, c.HeadSize / 2);
        if (!c.SharedClassifier) Add("wcls", c.VocabSize, dim);
        return list;
    }

    private static string Describe(Llama2cConfig c) =>
        $"dim {c.Dim}, hidden_dim {c.HiddenDim}, n_layers {c.Layers}, n_heads {c.Heads}, n_kv_heads {c.KvHeads}, " +
        $"vocab_size {c.VocabSize} ({(c.SharedClassifier ? "shared" : "separate")} classifier), seq_len {c.SeqLen}";
}
