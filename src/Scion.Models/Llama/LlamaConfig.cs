namespace Scion.Models.Llama;

/// <summary>How RoPE pairs the features of a head.</summary>
public enum RopeStyle
{
    /// <summary>Pairs (2i, 2i+1): llama.cpp's "normal" mode, used with the Q/K row permutation its converter applies to Llama GGUFs.</summary>
    Interleaved,
    /// <summary>Pairs (i, i + d/2): Hugging Face's rotate_half, used by HF Llama weights and by Qwen2 in every format.</summary>
    HalfSplit,
}

/// <summary>RoPE frequency scaling read from config (HF rope_scaling, or GGUF rope.scaling.*).</summary>
public sealed record RopeScaling(string Type, double Factor, double LowFreqFactor = 1, double HighFreqFactor = 4, int OriginalContext = 8192);

/// <summary>Hyper-parameters of a Llama-family decoder. Shape letters: D = Dim, H = Heads, Hkv = KvHeads, Dh = HeadDim, F = FfnDim, V = Vocab.</summary>
public sealed record LlamaConfig
{
    public required string Architecture { get; init; }  // llama, mistral, qwen2 ...
    public required int Dim { get; init; }
    public required int Layers { get; init; }
    public required int Heads { get; init; }
    public required int KvHeads { get; init; }
    public required int HeadDim { get; init; }
    public required int FfnDim { get; init; }
    public required int Vocab { get; init; }
    public float RmsEps { get; init; } = 1e-5f;
    public double RopeTheta { get; init; } = 10000;
    /// <summary>Features of each head that RoPE rotates (the rest pass through); usually HeadDim.</summary>
    public int RopeDim { get; init; }
    public RopeStyle RopeStyle { get; init; } = RopeStyle.Interleaved;
    public RopeScaling? RopeScaling { get; init; }
    public int ContextLength { get; init; } = 2048;
    public bool TiedEmbeddings { get; init; }
    public bool QkvBias { get; init; }
    /// <summary>Mistral-style sliding window: a position attends to at most this many positions (itself included); 0 = all.</summary>
    public int SlidingWindow { get; init; }

    public int QDim => Heads * HeadDim;
    public int KvDim => KvHeads * HeadDim;

    public void Validate(string source)
    {
        void Check(bool ok, string what)
        {
            if (!ok) throw new Formats.ModelFormatException($"{source}: invalid model configuration: {what}.");
        }
        Check(Dim > 0 && Layers > 0 && Heads > 0 && KvHeads > 0 && HeadDim > 0 && FfnDim > 0 && Vocab > 0,
            $"all sizes must be positive (dim {Dim}, layers {Layers}, heads {Heads}, kv heads {KvHeads}, head dim {HeadDim}, ffn {FfnDim}, vocab {Vocab})");
        Check(Heads % KvHeads == 0, $"heads ({Heads}) must be a multiple of kv heads ({KvHeads})");
        Check(RopeDim > 0 && RopeDim <= HeadDim && RopeDim % 2 == 0, $"rope dimension {RopeDim} must be even and at most head dim {HeadDim}");
        Check(RmsEps > 0 && float.IsFinite(RmsEps), $"rms eps {RmsEps} must be a positive finite number");
        Check(RopeTheta > 0 && double.IsFinite(RopeTheta), $"rope frequency base {RopeTheta} must be a positive finite number");
        Check(RopeScaling is null || RopeScaling.Factor > 0 && double.IsFinite(RopeScaling.Factor),
            $"rope scaling factor {RopeScaling?.Factor} must be a positive finite number");
        Check(RopeScaling is not { Type: "llama3" } r3 || r3.LowFreqFactor > 0 && r3.HighFreqFactor > r3.LowFreqFactor && r3.OriginalContext > 0,
            $"llama3 rope scaling needs 0 < low_freq_factor < high_freq_factor and original_max_position_embeddings > 0 (got {RopeScaling?.LowFreqFactor}, {RopeScaling?.HighFreqFactor}, {RopeScaling?.OriginalContext})");
        Check(ContextLength > 0, $"context length {ContextLength} must be positive");
        Check(SlidingWindow >= 0, $"sliding window {SlidingWindow} must be 0 (off) or positive");
    }
}
