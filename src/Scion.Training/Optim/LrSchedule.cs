namespace Scion.Training.Optim;

/// <summary>Shape of the decay after warmup.</summary>
public enum LrDecay
{
    Constant,
    Linear,
    Cosine,
}

/// <summary>
/// Learning rate per optimizer step (0-based), Hugging Face transformers' schedules:
/// linear warmup from 0 (step 0 gets lr 0 when warmup &gt; 0), then constant, linear or
/// half-cosine decay to <c>MinRatio · BaseLr</c> at <c>TotalSteps</c>, and that floor afterwards.
/// </summary>
public sealed record LrSchedule(float BaseLr, int WarmupSteps, int TotalSteps, LrDecay Decay = LrDecay.Cosine, float MinRatio = 0f)
{
    public float At(long step)
    {
        if (step < 0) throw new ArgumentOutOfRangeException(nameof(step), $"Step {step} is negative.");
        if (step < WarmupSteps) return (float)(BaseLr * ((double)step / Math.Max(1, WarmupSteps)));
        if (Decay == LrDecay.Constant) return BaseLr;
        double progress = Math.Min(1.0, (double)(step - WarmupSteps) / Math.Max(1, TotalSteps - WarmupSteps));
        double factor = Decay == LrDecay.Linear ? 1.0 - progress : 0.5 * (1.0 + Math.Cos(Math.PI * progress));
        return (float)(BaseLr * (MinRatio + (1.0 - MinRatio) * factor));
    }
}
