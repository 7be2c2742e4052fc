using System.Globalization;

namespace Scion.Cli.CommandLine;

/// <summary>A usage error: the message says what was expected and what was given; exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>
/// Parsed `--name value` / `--flag` options of one command, checked against the options the command declares,
/// so a typo is an error naming the valid options rather than a silently ignored setting.
/// </summary>
public sealed class CliArguments
{
    private readonly Dictionary<string, string?> _values = new(StringComparer.Ordinal);
    private readonly string _command;

    public IReadOnlyList<string> Positional { get; }

    private CliArguments(string command, List<string> positional)
    {
        _command = command;
        Positional = positional;
    }

    /// <param name="options">Declared value options (without dashes).</param>
    /// <param name="flags">Declared boolean flags.</param>
    public static CliArguments Parse(string command, string[] args, IReadOnlyCollection<string> options, IReadOnlyCollection<string> flags)
    {
        var positional = new List<string>();
        var result = new CliArguments(command, positional);
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            if (!a.StartsWith("--", StringComparison.Ordinal) || a == "--")
            {
                positional.Add(a);
                continue;
            }
            string name = a[2..];
            string? inline = null;
            int eq = name.IndexOf('=');
            if (eq >= 0) { inline = name[(eq + 1)..]; name = name[..eq]; }
            if (flags.Contains(name))
            {
                result._values[name] = inline ?? "true";
            }
            else if (options.Contains(name))
            {
                if (inline is null)
                {
                    if (i + 1 >= args.Length) throw new UsageException($"{command}: option --{name} needs a value.");
                    inline = args[++i];
                }
                result._values[name] = inline;
            }
            else
            {
                var all = options.Select(o => "--" + o).Concat(flags.Select(f => "--" + f)).Order();
                throw new UsageException($"{command}: unknown option '--{name}'. Valid options: {string.Join(", ", all)}.");
            }
        }
        return result;
    }

    public bool Has(string name) => _values.ContainsKey(name);

    public string? String(string name) => _values.GetValueOrDefault(name);

    public string Require(string name) => String(name) ?? throw new UsageException($"{_command}: option --{name} is required.");

    public bool Flag(string name) => String(name) is { } v && v is not ("false" or "0");

    public int Int(string name, int fallback, int min = int.MinValue, int max = int.MaxValue)
    {
        if (String(name) is not { } s) return fallback;
        if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v))
            throw new UsageException($"{_command}: --{name} expects an integer, got '{s}'.");
        if (v < min || v > max) throw new UsageException($"{_command}: --{name} must be between {min} and {max}, got {v}.");
        return v;
    }

    public ulong ULong(string name, ulong fallback)
    {
        if (String(name) is not { } s) return fallback;
        if (!ulong.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out ulong v))
            throw new UsageException($"{_command}: --{name} expects a non-negative integer, got '{s}'.");
        return v;
    }

    public float Float(string name, float fallback)
    {
        if (String(name) is not { } s) return fallback;
        if (!float.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out float v) || !float.IsFinite(v))
            throw new UsageException($"{_command}: --{name} expects a number, got '{s}'.");
        return v;
    }
}
