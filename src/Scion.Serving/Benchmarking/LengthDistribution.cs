using Scion.Tensors;

namespace Scion.Serving.Benchmarking;

/// <summary>How many tokens a prompt or an output gets: fixed, uniform over min..max (inclusive), or normal with a
/// mean and standard deviation clamped to min..max. Written on the command line as <c>80</c>, <c>16..128</c> or
/// <c>normal:80,20</c> (optionally <c>normal:80,20,8..256</c>).</summary>
public sealed record LengthDistribution(LengthDistribution.Kinds Kind, int Min, int Max, double Mean = 0, double StdDev = 0)
{
    public enum Kinds { Fixed, Uniform, Normal }

    public static LengthDistribution Fixed(int n) => new(Kinds.Fixed, n, n, n);

    public int Sample(Xoshiro256 rng) => Kind switch
    {
        Kinds.Fixed => Min,
        Kinds.Uniform => Min + rng.NextInt(Max - Min + 1),
        _ => (int)Math.Clamp(Math.Round(Mean + StdDev * rng.NextGaussian()), Min, Max),
    };

    public override string ToString() => Kind switch
    {
        Kinds.Fixed => $"{Min}",
        Kinds.Uniform => $"{Min}..{Max}",
        _ => $"normal:{Mean},{StdDev},{Min}..{Max}",
    };

    /// <summary>Parses the command-line forms; throws <see cref="ArgumentException"/> naming what was expected.</summary>
    public static LengthDistribution Parse(string text, string what, int floor = 1)
    {
        var ci = System.Globalization.CultureInfo.InvariantCulture;
        string t = text.Trim();
        try
        {
            if (t.StartsWith("normal:", StringComparison.OrdinalIgnoreCase))
            {
                var parts = t["normal:".Length..].Split(',');
                if (parts.Length is not (2 or 3)) throw new FormatException();
                double mean = double.Parse(parts[0], ci), sd = double.Parse(parts[1], ci);
                var (lo, hi) = parts.Length == 3 ? Range(parts[2]) : (floor, (int)Math.Max(floor, Math.Ceiling(mean + 4 * sd)));
                return Check(new LengthDistribution(Kinds.Normal, lo, hi, mean, sd));
            }
            if (t.Contains(".."))
            {
                var (lo, hi) = Range(t);
                return Check(new LengthDistribution(Kinds.Uniform, lo, hi));
            }
            return Check(Fixed(int.Parse(t, ci)));
        }
        catch (FormatException)
        {
            throw new ArgumentException($"{what}: expected N, MIN..MAX or normal:MEAN,SD[,MIN..MAX], got '{text}'.");
        }
        catch (OverflowException)
        {
            throw new ArgumentException($"{what}: expected N, MIN..MAX or normal:MEAN,SD[,MIN..MAX], got '{text}'.");
        }

        (int, int) Range(string r)
        {
            var p = r.Split("..");
            if (p.Length != 2) throw new FormatException();
            return (int.Parse(p[0], ci), int.Parse(p[1], ci));
        }

        LengthDistribution Check(LengthDistribution d)
        {
            if (d.Min < floor || d.Max < d.Min || d.StdDev < 0)
                throw new ArgumentException($"{what}: lengths must be >= {floor} with MIN <= MAX (and SD >= 0), got '{text}'.");
            return d;
        }
    }
}
