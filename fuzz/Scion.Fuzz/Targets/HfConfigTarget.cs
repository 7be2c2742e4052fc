using System.Text;
using Scion.Models.Formats;
using Scion.Models.Llama;

namespace Scion.Fuzz.Targets;

/// <summary>A Hugging Face config.json, read and mapped to the engine's config as loading a model folder does.</summary>
public sealed class HfConfigTarget : FuzzTarget
{
    public override string Name => "hf-config";

    public override string Covers =>
        "HfConfig.Load (JSON fields, types, ranges, rope_scaling, token ids) and ConfigMapping.FromHf (architecture, " +
        "activation, rope scaling, LlamaConfig.Validate).";

    public override void Run(byte[] input)
    {
        string path = Scratch.File("config.json", input);
        var hf = HfConfig.Load(path);
        _ = ConfigMapping.FromHf(hf, path);
    }

    public override IEnumerable<(string, byte[])> Seeds()
    {
        yield return ("llama3.json", Encoding.UTF8.GetBytes("""
            {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64, "intermediate_size": 192,
             "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16, "rms_norm_eps": 1e-05,
             "rope_theta": 500000.0, "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
             "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}, "max_position_embeddings": 131072,
             "vocab_size": 300, "tie_word_embeddings": true, "attention_bias": false, "mlp_bias": false, "hidden_act": "silu",
             "torch_dtype": "bfloat16", "bos_token_id": 1, "eos_token_id": [2, 3]}
            """));
        yield return ("mistral.json", Encoding.UTF8.GetBytes("""
            {"architectures": ["MistralForCausalLM"], "model_type": "mistral", "hidden_size": 32, "intermediate_size": 64,
             "num_hidden_layers": 1, "num_attention_heads": 4, "vocab_size": 100, "sliding_window": 16,
             "max_position_embeddings": 64, "rope_scaling": {"type": "linear", "factor": 2.0}, "eos_token_id": 2}
            """));
        yield return ("qwen2.json", Encoding.UTF8.GetBytes("""
            {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 32, "intermediate_size": 48,
             "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1, "vocab_size": 64, "rope_theta": 1000000.0,
             "rope_scaling": null, "tie_word_embeddings": false}
            """));
    }
}
