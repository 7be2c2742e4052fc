using Scion.Models.Adapters;

namespace Scion.Training.Peft;

/// <summary>Which parameter-efficient method trains the adapter.</summary>
public enum PeftMethod
{
    /// <summary>LoRA (Hu et al.): W + scale·B A, A Kaiming-uniform, B zero.</summary>
    Lora,
    /// <summary>PiSSA (Meng et al.): A, B from the top-r SVD of W, the frozen base is the residual; exported as plain LoRA.</summary>
    Pissa,
    /// <summary>DoRA (Liu et al.): LoRA plus a trained per-output-row magnitude, PEFT semantics.</summary>
    Dora,
}

/// <summary>What to adapt and how (PEFT's LoraConfig fields that training needs).</summary>
public sealed record PeftOptions
{
    public PeftMethod Method { get; init; } = PeftMethod.Lora;
    public int Rank { get; init; } = 8;
    public double Alpha { get; init; } = 16;
    public float Dropout { get; init; }
    /// <summary>Scale alpha/√r instead of alpha/r (rsLoRA).</summary>
    public bool UseRslora { get; init; }
    /// <summary>HF module names (q_proj, ...), or null for all seven linear projections ("all-linear").</summary>
    public string[]? Targets { get; init; } = [LoraModules.Q, LoraModules.V];
    /// <summary>Layers to adapt, or null for all (PEFT's layers_to_transform).</summary>
    public int[]? Layers { get; init; }
    /// <summary>Power (subspace) iterations of PiSSA's randomized SVD.</summary>
    public int PissaIterations { get; init; } = 6;

    public float Scale => (float)(UseRslora ? Alpha / Math.Sqrt(Rank) : Alpha / Rank);

    public bool TargetsModule(int layer, string module) =>
        (Layers is null || Layers.Contains(layer)) && (Targets is null || Targets.Contains(module));

    public void Validate()
    {
        if (Rank <= 0) throw new ArgumentException($"LoRA rank must be positive, got {Rank}.");
        if (!(Alpha > 0)) throw new ArgumentException($"LoRA alpha must be positive, got {Alpha}.");
        if (!(Dropout >= 0 && Dropout < 1)) throw new ArgumentException($"LoRA dropout must be in [0, 1), got {Dropout}.");
        if (Targets is { } t)
        {
            if (t.Length == 0) throw new ArgumentException("No target modules given.");
            foreach (var m in t)
                if (!LoraModules.IsKnown(m))
                    throw new ArgumentException($"Unknown target module '{m}'; expected {string.Join(", ", LoraModules.All)} or all-linear.");
        }
        if (PissaIterations < 0) throw new ArgumentException($"PiSSA iterations must be non-negative, got {PissaIterations}.");
    }

    /// <summary>Parses "q_proj,v_proj" or "all-linear" (null result).</summary>
    public static string[]? ParseTargets(string text)
    {
        if (text.Trim() == PeftAdapterConfig.AllLinear) return null;
        return text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }
}
