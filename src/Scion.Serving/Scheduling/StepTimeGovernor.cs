namespace Scion.Serving.Scheduling;

/// <summary>
/// Keeps decoding streams' inter-token gap near a time target (Sarathi-Serve picks its chunk budget from a
/// time-between-tokens SLO the same way): while any sequence decodes, a step's token budget is what the target buys
/// at the recently measured cost per batch token; with nobody decoding nobody waits on the step, so the full budget
/// applies and prefill keeps its efficiency. A 512-token chunk takes ~5 s on two cores for a 1B model: without this
/// every stream stalls that long whenever a long prompt arrives.
/// </summary>
/// <param name="targetSeconds">Step time to aim for while sequences decode; 0 turns the governor off.</param>
/// <param name="minChunk">Prompt tokens a step keeps beyond its decodes however slow steps are, so prompts progress.</param>
public sealed class StepTimeGovernor(double targetSeconds, int minChunk)
{
    /// <summary>Steps with fewer rows are dominated by reading the weights once, not by per-token work: they would
    /// overstate the cost of a token.</summary>
    public const int MinSampleTokens = 16;
    private const double Smoothing = 0.3;
    private double? _secondsPerToken;

    /// <summary>The smoothed seconds per batch token, once a step large enough to judge by has run.</summary>
    public double? SecondsPerToken => _secondsPerToken;

    /// <summary>Records one forward: its rows and how long it took.</summary>
    public void Observe(int tokens, double seconds)
    {
        if (tokens < MinSampleTokens || !(seconds > 0) || double.IsInfinity(seconds)) return;
        double sample = seconds / tokens;
        _secondsPerToken = _secondsPerToken is double p ? p + Smoothing * (sample - p) : sample;
    }

    /// <summary>The token budget of the next step given the configured one and how many sequences decode in it.</summary>
    public int TokenBudget(int maxTokens, int decoding)
    {
        if (targetSeconds <= 0 || decoding == 0 || _secondsPerToken is not double cost) return maxTokens;
        double affordable = Math.Floor(targetSeconds / cost);
        int floor = (int)Math.Min(maxTokens, (long)decoding + minChunk);
        return affordable >= maxTokens ? maxTokens : Math.Max(floor, (int)affordable);
    }
}
