using System.Diagnostics;

namespace Scion.Server.Http;

/// <summary>
/// The last samples of one latency (TTFT, ITL), kept with their time so percentiles can be taken over a recent window
/// (the console's "last minute" charts), which the cumulative Prometheus histograms cannot give. A fixed ring: a burst
/// of more samples than it holds keeps only the newest, so memory stays bounded whatever the load.
/// </summary>
internal sealed class RecentLatencies(int capacity = 4096)
{
    private readonly Lock _gate = new();
    private readonly double[] _values = new double[capacity];
    private readonly long[] _stamps = new long[capacity];
    private int _next, _count;

    public void Record(double seconds)
    {
        long now = Stopwatch.GetTimestamp();
        lock (_gate)
        {
            _values[_next] = seconds;
            _stamps[_next] = now;
            _next = (_next + 1) % _values.Length;
            _count = Math.Min(_count + 1, _values.Length);
        }
    }

    /// <summary>Nearest-rank percentiles (each p in [0, 1]) of the samples newer than <paramref name="window"/>, and
    /// how many there were; the percentiles are null when there were none.</summary>
    public (double?[] Percentiles, int Count) Snapshot(TimeSpan window, params double[] ps)
    {
        long oldest = Stopwatch.GetTimestamp() - (long)(window.TotalSeconds * Stopwatch.Frequency);
        var recent = new List<double>(_count);
        lock (_gate)
            for (int i = 0; i < _count; i++)
            {
                int at = (_next - 1 - i + _values.Length) % _values.Length; // newest first
                if (_stamps[at] < oldest) break;
                recent.Add(_values[at]);
            }
        var result = new double?[ps.Length];
        if (recent.Count == 0) return (result, 0);
        recent.Sort();
        for (int k = 0; k < ps.Length; k++)
            result[k] = recent[Math.Clamp((int)Math.Ceiling(ps[k] * recent.Count) - 1, 0, recent.Count - 1)];
        return (result, recent.Count);
    }
}
