namespace Scion.Models.Llama;

/// <summary>
/// The one table mapping model slots to tensor names in GGUF (llama.cpp) and Hugging Face naming.
/// Slot names are GGUF's; "{0}" is the layer index.
/// </summary>
public static class TensorNames
{
    public const string TokenEmbedding = "token_embd.weight";
    public const string OutputNorm = "output_norm.weight";
    public const string Output = "output.weight";
    public const string RopeFreqs = "rope_freqs.weight";

    public const string AttnNorm = "blk.{0}.attn_norm.weight";
    public const string AttnQ = "blk.{0}.attn_q.weight";
    public const string AttnK = "blk.{0}.attn_k.weight";
    public const string AttnV = "blk.{0}.attn_v.weight";
    public const string AttnOutput = "blk.{0}.attn_output.weight";
    public const string AttnQBias = "blk.{0}.attn_q.bias";
    public const string AttnKBias = "blk.{0}.attn_k.bias";
    public const string AttnVBias = "blk.{0}.attn_v.bias";
    public const string FfnNorm = "blk.{0}.ffn_norm.weight";
    public const string FfnGate = "blk.{0}.ffn_gate.weight";
    public const string FfnUp = "blk.{0}.ffn_up.weight";
    public const string FfnDown = "blk.{0}.ffn_down.weight";

    /// <summary>GGUF slot → HF name, verbatim.</summary>
    public static readonly IReadOnlyDictionary<string, string> GgufToHf = new Dictionary<string, string>
    {
        [TokenEmbedding] = "model.embed_tokens.weight",
        [OutputNorm] = "model.norm.weight",
        [Output] = "lm_head.weight",
        [AttnNorm] = "model.layers.{0}.input_layernorm.weight",
        [AttnQ] = "model.layers.{0}.self_attn.q_proj.weight",
        [AttnK] = "model.layers.{0}.self_attn.k_proj.weight",
        [AttnV] = "model.layers.{0}.self_attn.v_proj.weight",
        [AttnOutput] = "model.layers.{0}.self_attn.o_proj.weight",
        [AttnQBias] = "model.layers.{0}.self_attn.q_proj.bias",
        [AttnKBias] = "model.layers.{0}.self_attn.k_proj.bias",
        [AttnVBias] = "model.layers.{0}.self_attn.v_proj.bias",
        [FfnNorm] = "model.layers.{0}.post_attention_layernorm.weight",
        [FfnGate] = "model.layers.{0}.mlp.gate_proj.weight",
        [FfnUp] = "model.layers.{0}.mlp.up_proj.weight",
        [FfnDown] = "model.layers.{0}.mlp.down_proj.weight",
    };

    /// <summary>PEFT module name (q_proj ...) → the linear slot it adapts.</summary>
    public static readonly IReadOnlyDictionary<string, LinearSlot> PeftModules = new Dictionary<string, LinearSlot>
    {
        ["q_proj"] = LinearSlot.Q,
        ["k_proj"] = LinearSlot.K,
        ["v_proj"] = LinearSlot.V,
        ["o_proj"] = LinearSlot.O,
        ["gate_proj"] = LinearSlot.Gate,
        ["up_proj"] = LinearSlot.Up,
        ["down_proj"] = LinearSlot.Down,
    };

    public static string Layer(string pattern, int layer) => string.Format(System.Globalization.CultureInfo.InvariantCulture, pattern, layer);
}

/// <summary>The seven linear projections of a Llama block that adapters can target.</summary>
public enum LinearSlot { Q, K, V, O, Gate, Up, Down }
