using System.CommandLine;
using System.Globalization;

namespace Scion.Cli.CommandLine;

/// <summary>
/// Option constructors with the checks every scion option needs: numeric ranges and finite numbers are parse
/// errors (exit code 2, before any model is loaded), and defaults are declared so `--help` shows them.
/// </summary>
internal static class Opt
{
    public static Option<int> Int(string name, int defaultValue, string description, int min = 0, int max = int.MaxValue, params string[] aliases)
    {
        var o = new Option<int>(name, aliases) { Description = description, DefaultValueFactory = _ => defaultValue, HelpName = "N" };
        AddRange(o, min, max);
        return o;
    }

    /// <summary>An integer without a fixed default (the command derives one, as the description says).</summary>
    public static Option<int?> OptionalInt(string name, string description, int min = 0, int max = int.MaxValue, params string[] aliases)
    {
        var o = new Option<int?>(name, aliases) { Description = description, HelpName = "N" };
        o.Validators.Add(r =>
        {
            if (Value<int?>(r) is { } v && (v < min || v > max))
                r.AddError($"{name} must be between {min} and {max}, got {v}.");
        });
        return o;
    }

    public static Option<ulong> ULong(string name, ulong defaultValue, string description, params string[] aliases) =>
        new(name, aliases) { Description = description, DefaultValueFactory = _ => defaultValue, HelpName = "N" };

    public static Option<ulong?> OptionalULong(string name, string description, params string[] aliases) =>
        new(name, aliases) { Description = description, HelpName = "N" };

    public static Option<float> Float(string name, float defaultValue, string description, float min = float.MinValue, float max = float.MaxValue, params string[] aliases)
    {
        var o = new Option<float>(name, aliases) { Description = description, DefaultValueFactory = _ => defaultValue, HelpName = "X" };
        o.Validators.Add(r =>
        {
            if (Value<float?>(r) is not { } v) return;
            if (!float.IsFinite(v) || v < min || v > max)
                r.AddError(string.Create(CultureInfo.InvariantCulture, $"{name} must be a number between {min} and {max}, got {v}."));
        });
        return o;
    }

    public static Option<float?> OptionalFloat(string name, string description, float min = float.MinValue, float max = float.MaxValue)
    {
        var o = new Option<float?>(name) { Description = description, HelpName = "X" };
        o.Validators.Add(r =>
        {
            if (Value<float?>(r) is { } v && (!float.IsFinite(v) || v < min || v > max))
                r.AddError(string.Create(CultureInfo.InvariantCulture, $"{name} must be a number between {min} and {max}, got {v}."));
        });
        return o;
    }

    public static Option<string?> Text(string name, string description, string helpName = "TEXT", params string[] aliases) =>
        new(name, aliases) { Description = description, HelpName = helpName };

    public static Option<string> RequiredText(string name, string description, string helpName = "TEXT", params string[] aliases) =>
        new(name, aliases) { Description = description, HelpName = helpName, Required = true };

    /// <summary>A string with a default, limited to <paramref name="choices"/> (the help lists them).</summary>
    public static Option<string> Choice(string name, string defaultValue, string description, params string[] choices)
    {
        var o = new Option<string>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
        o.AcceptOnlyFromAmong(choices);
        return o;
    }

    public static Option<bool> Flag(string name, string description, params string[] aliases) =>
        new(name, aliases) { Description = description };

    /// <summary>The parsed value, or null when the token did not parse (System.CommandLine reports that error itself).</summary>
    private static T? Value<T>(System.CommandLine.Parsing.OptionResult r)
    {
        try
        {
            return r.GetValueOrDefault<T>();
        }
        catch (InvalidOperationException)
        {
            return default;
        }
    }

    private static void AddRange(Option<int> o, int min, int max) => o.Validators.Add(r =>
    {
        if (Value<int?>(r) is not { } v) return;
        if (v < min || v > max) r.AddError($"{o.Name} must be between {min} and {max}, got {v}.");
    });
}
