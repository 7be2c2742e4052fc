namespace Scion.Serving.Benchmarking;

/// <summary>Percentiles (nearest rank) of a set of latencies, seconds.</summary>
public sealed record LatencySummary(int Count, double Mean, double P50, double P90, double P99, double Max)
{
    public static readonly LatencySummary Empty = new(0, 0, 0, 0, 0, 0);

    public static LatencySummary Of(IEnumerable<double> values)
    {
        var sorted = values.ToArray();
        if (sorted.Length == 0) return Empty;
        Array.Sort(sorted);
        double At(double q) => sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];
        return new LatencySummary(sorted.Length, sorted.Average(), At(0.50), At(0.90), At(0.99), sorted[^1]);
    }
}
