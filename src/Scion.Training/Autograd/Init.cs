namespace Scion.Training.Autograd;

/// <summary>Parameter initialisers drawing from the project's seeded RNG.</summary>
public static class Init
{
    /// <summary>
    /// PEFT's default LoRA A init: kaiming_uniform_(a = √5) gives bound = √(6 / ((1 + a²)·fanIn)) = 1/√fanIn.
    /// a [r, fanIn]; B starts at zero so the adapter is the identity at step 0.
    /// </summary>
    public static void KaimingUniformLoraA(Xoshiro256 rng, Span<float> a, int fanIn)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(fanIn);
        Uniform(rng, a, (float)(1.0 / Math.Sqrt(fanIn)));
    }

    /// <summary>Uniform in [-bound, bound).</summary>
    public static void Uniform(Xoshiro256 rng, Span<float> values, float bound)
    {
        for (int i = 0; i < values.Length; i++) values[i] = rng.NextUniform(-bound, bound);
    }

    /// <summary>Normal(0, std²) (PEFT's "gaussian" LoRA init uses std = 1/r).</summary>
    public static void Normal(Xoshiro256 rng, Span<float> values, float std)
    {
        for (int i = 0; i < values.Length; i++) values[i] = (float)(rng.NextGaussian() * std);
    }
}
