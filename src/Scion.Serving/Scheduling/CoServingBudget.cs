namespace Scion.Serving.Scheduling;

/// <summary>
/// How much engine time background work (training) gets while inference has work: each inference step earns it
/// <c>share / (1 − share)</c> of the step's duration, so over a busy stretch training takes about <c>share</c> of the
/// engine's time, and a slice follows each step so no stream's gap grows by more than <c>1 / (1 − share)</c> (plus
/// the one op a slice may overrun by, which the next slices pay back: overruns drive the credit negative). Credit is
/// capped so a long inference burst cannot bank a long training stall. While inference is idle, training runs in
/// fixed slices, and a request that arrives waits at most one of them. FlexLLM co-serves at token granularity inside
/// one fused forward; on a CPU a batch's cost grows with its rows, so fusing buys little, and interleaving whole ops
/// between steps keeps the inference kernels untouched.
/// </summary>
public sealed class CoServingBudget
{
    /// <summary>Credit below this is left to grow: a slice shorter than one small op would only cost its overhead.</summary>
    public const double MinSliceSeconds = 0.0005;
    private readonly double _ratio;
    private double _credit;

    /// <param name="share">Fraction of busy engine time training may take, in [0, 0.95]; 0: train only when idle.</param>
    /// <param name="maxSliceSeconds">Largest slice (and credit) while inference has work.</param>
    /// <param name="idleSliceSeconds">Slice length while inference is idle.</param>
    public CoServingBudget(double share, double maxSliceSeconds = 0.25, double idleSliceSeconds = 0.05)
    {
        if (!(share >= 0 && share <= 0.95)) throw new ArgumentOutOfRangeException(nameof(share), $"training share: expected 0..0.95, got {share}.");
        if (!(maxSliceSeconds > 0) || !(idleSliceSeconds > 0)) throw new ArgumentOutOfRangeException(nameof(maxSliceSeconds), "slice lengths must be positive.");
        Share = share;
        _ratio = share / (1 - share);
        MaxSliceSeconds = maxSliceSeconds;
        IdleSliceSeconds = idleSliceSeconds;
    }

    public double Share { get; }
    public double MaxSliceSeconds { get; }
    public double IdleSliceSeconds { get; }
    /// <summary>Seconds of training earned and not yet spent (negative after an overrun).</summary>
    public double Credit => _credit;

    /// <summary>An inference step took <paramref name="seconds"/>: returns the training slice to run now (0: none).</summary>
    public double AfterInferenceStep(double seconds)
    {
        if (_ratio == 0 || !(seconds > 0)) return 0;
        _credit = Math.Min(MaxSliceSeconds, _credit + seconds * _ratio);
        return _credit >= MinSliceSeconds ? _credit : 0;
    }

    /// <summary>A slice ran for <paramref name="seconds"/> while inference had work.</summary>
    public void Spent(double seconds) => _credit -= Math.Max(0, seconds);

    /// <summary>Inference went idle: debt and credit of the busy stretch are forgotten.</summary>
    public void Idle() => _credit = 0;
}
