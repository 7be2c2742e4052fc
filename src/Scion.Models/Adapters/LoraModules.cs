namespace Scion.Models.Adapters;

/// <summary>The Llama projection modules a LoRA adapter may target, with the block each lives in (HF naming).</summary>
public static class LoraModules
{
    public const string Q = "q_proj", K = "k_proj", V = "v_proj", O = "o_proj";
    public const string Gate = "gate_proj", Up = "up_proj", Down = "down_proj";

    /// <summary>In the order the model applies them; adapter pairs are listed in this order within a layer.</summary>
    public static IReadOnlyList<string> All { get; } = [Q, K, V, O, Gate, Up, Down];

    public static bool IsKnown(string module) => All.Contains(module);

    /// <summary>"self_attn" for q/k/v/o, "mlp" for gate/up/down.</summary>
    public static string Parent(string module) => module switch
    {
        Q or K or V or O => "self_attn",
        Gate or Up or Down => "mlp",
        _ => throw new ArgumentException($"Unknown LoRA module '{module}'; expected one of {string.Join(", ", All)}.", nameof(module)),
    };

    public static int Order(string module) => All.ToList().IndexOf(module);

    /// <summary>The module's name inside the base model, as PEFT matches target_modules and rank_pattern against it.</summary>
    public static string ModulePath(int layer, string module) => $"model.layers.{layer}.{Parent(module)}.{module}";

    /// <summary>Q and K outputs are rotated by RoPE, so their rows (and a LoRA B's rows) differ between HF and GGUF order.</summary>
    public static bool IsRotary(string module) => module is Q or K;
}
