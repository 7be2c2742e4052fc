using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Scion.Models.Formats;

namespace Scion.Models.Adapters;

/// <summary>
/// The regular expressions of adapter_config.json (target_modules as a string, rank_pattern and alpha_pattern keys),
/// compiled once and matched against module paths. They come from files, so a catastrophically backtracking one
/// must not hang a load or crash it with a bare RegexMatchTimeoutException: patterns run on the non-backtracking
/// engine (linear time) where it supports them, and the rest (backreferences, lookarounds) under a timeout that
/// becomes a <see cref="ModelFormatException"/> naming the key.
/// </summary>
internal static class ModulePattern
{
    /// <summary>A module path is a few dozen characters; any sane pattern matches it in microseconds.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromMilliseconds(500);

    private const int CacheLimit = 1024;
    private static readonly ConcurrentDictionary<string, Regex> Compiled = new(StringComparer.Ordinal);

    /// <summary>The compiled pattern; throws <see cref="ArgumentException"/> when it does not parse.</summary>
    public static Regex Get(string pattern)
    {
        if (Compiled.TryGetValue(pattern, out var regex)) return regex;
        // Adapter servers load many configs; a bounded cache keeps distinct patterns from accumulating forever.
        if (Compiled.Count >= CacheLimit) Compiled.Clear();
        return Compiled.GetOrAdd(pattern, Create);
    }

    private static Regex Create(string pattern)
    {
        try
        {
            return new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.NonBacktracking, Timeout);
        }
        catch (NotSupportedException)
        {
            return new Regex(pattern, RegexOptions.CultureInvariant, Timeout);
        }
    }

    /// <param name="field">how the message names the pattern, e.g. <c>rank_pattern key '(a+)+b'</c>.</param>
    public static bool IsMatch(string pattern, string input, string source, string field)
    {
        try
        {
            return Get(pattern).IsMatch(input);
        }
        catch (RegexMatchTimeoutException e)
        {
            throw new ModelFormatException(
                $"{source}: {field} took more than {Timeout.TotalMilliseconds:0} ms to match the module path '{input}'; " +
                "the regular expression backtracks catastrophically. Simplify it (e.g. without nested repetition or backreferences).", e);
        }
    }
}
