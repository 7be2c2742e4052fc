using Scion.Tensors;

namespace Scion.Serving.Benchmarking;

/// <summary>Which of K adapters a request uses: uniform, or Zipf(s) where adapter i (0-based) has weight 1/(i+1)^s,
/// so adapter 0 is the most popular. Sampling inverts a precomputed CDF (K up to millions is fine).</summary>
public sealed class AdapterPopularity
{
    private readonly double[]? _cdf;

    public AdapterPopularity(int count, double zipfExponent = 0)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "At least one adapter is needed to pick from.");
        if (zipfExponent < 0) throw new ArgumentOutOfRangeException(nameof(zipfExponent), zipfExponent, "The Zipf exponent must be >= 0 (0 = uniform).");
        Count = count;
        ZipfExponent = zipfExponent;
        if (zipfExponent == 0) return;
        _cdf = new double[count];
        double sum = 0;
        for (int i = 0; i < count; i++) _cdf[i] = sum += Math.Pow(i + 1, -zipfExponent);
        for (int i = 0; i < count; i++) _cdf[i] /= sum;
        _cdf[^1] = 1;
    }

    public int Count { get; }
    /// <summary>0 for uniform.</summary>
    public double ZipfExponent { get; }

    /// <summary>Probability of adapter <paramref name="index"/>.</summary>
    public double Probability(int index) => _cdf is null ? 1.0 / Count : _cdf[index] - (index == 0 ? 0 : _cdf[index - 1]);

    public int Sample(Xoshiro256 rng)
    {
        if (_cdf is null) return rng.NextInt(Count);
        double u = rng.NextDouble();
        int at = Array.BinarySearch(_cdf, u);
        // BinarySearch gives the complement of the first element greater than u when u is not found exactly.
        int i = at >= 0 ? at : ~at;
        return Math.Min(i, Count - 1);
    }
}
