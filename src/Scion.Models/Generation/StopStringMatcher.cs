namespace Scion.Models.Generation;

/// <summary>
/// Streams text while watching for stop strings: text that might be the start of a stop string is held back until
/// it is known either way, so a caller never sees part of a stop string.
/// </summary>
public sealed class StopStringMatcher(IReadOnlyList<string> stops)
{
    private readonly System.Text.StringBuilder _pending = new();

    public bool Stopped { get; private set; }

    /// <summary>Adds decoded text; returns what can be released now.</summary>
    public string Push(string text)
    {
        if (Stopped) return "";
        _pending.Append(text);
        string s = _pending.ToString();
        int cut = -1;
        foreach (var stop in stops)
        {
            if (stop.Length == 0) continue;
            int i = s.IndexOf(stop, StringComparison.Ordinal);
            if (i >= 0 && (cut < 0 || i < cut)) cut = i;
        }
        if (cut >= 0)
        {
            Stopped = true;
            _pending.Clear();
            return s[..cut];
        }
        int hold = 0;
        foreach (var stop in stops)
            for (int k = Math.Min(stop.Length - 1, s.Length); k > hold; k--)
                if (s.AsSpan(s.Length - k).SequenceEqual(stop.AsSpan(0, k))) { hold = k; break; }
        _pending.Clear();
        _pending.Append(s, s.Length - hold, hold);
        return s[..^hold];
    }

    /// <summary>Releases held-back text at the end of generation.</summary>
    public string Flush()
    {
        string s = Stopped ? "" : _pending.ToString();
        _pending.Clear();
        return s;
    }
}
