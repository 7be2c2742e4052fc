namespace Scion.Models.Bench;

/// <summary>Mean, sample standard deviation and best of repeated measurements.</summary>
public readonly record struct Measurement(double Mean, double Sd, double Best, int Count)
{
    public static Measurement Of(IReadOnlyCollection<double> values)
    {
        if (values.Count == 0) return new(double.NaN, double.NaN, double.NaN, 0);
        double mean = values.Average();
        double sd = values.Count > 1 ? Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1)) : 0;
        return new(mean, sd, values.Max(), values.Count);
    }

    /// <summary>This measurement scaled by a constant (sd scales with it).</summary>
    public Measurement Times(double factor) => new(Mean * factor, Sd * factor, Best * factor, Count);
}
