using System.CommandLine;
using System.CommandLine.Parsing;

namespace Scion.Cli.CommandLine;

/// <summary>
/// Parse errors as scion reports them: one line per problem naming the token, the closest valid option or command
/// when there is one, and where to read more; exit code 2.
/// </summary>
internal static class ParseErrors
{
    public static int Report(ParseResult parse, TextWriter err)
    {
        var command = parse.CommandResult.Command;
        string where = CommandPath(parse.CommandResult);
        var unmatched = parse.UnmatchedTokens.ToList();
        bool afterUnknownOption = false;
        foreach (var token in unmatched)
        {
            bool option = token.StartsWith('-') && token.Length > 1;
            // The value of an unknown option is not a second problem.
            if (!option && afterUnknownOption) { afterUnknownOption = false; continue; }
            afterUnknownOption = option;
            var candidates = option
                ? command.Options.SelectMany(o => o.Aliases.Prepend(o.Name))
                : command.Subcommands.Select(c => c.Name);
            string? close = Closest(token.Split('=', ':')[0], candidates);
            string what = option ? "unknown option" : command.Subcommands.Count > 0 ? "unknown command" : "unexpected argument";
            err.WriteLine($"error: {where}: {what} '{token}'.{(close is not null ? $" Did you mean '{close}'?" : "")}");
        }
        foreach (var error in parse.Errors)
        {
            if (unmatched.Any(t => error.Message.Contains($"'{t}'", StringComparison.Ordinal))) continue;
            if (unmatched.Count > 0 && error.SymbolResult is CommandResult) continue; // "required command" after an unknown one
            string prefix = error.SymbolResult switch
            {
                OptionResult o => $"{o.Option.Name}: ",
                ArgumentResult { Parent: OptionResult o } => $"{o.Option.Name}: ",
                _ => "",
            };
            string message = Plain(string.Join(' ', error.Message.Split(['\n', '\t', '\r'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)));
            err.WriteLine($"error: {where}: {(message.StartsWith(prefix.TrimEnd(' ', ':'), StringComparison.Ordinal) ? "" : prefix)}{message}");
        }
        err.WriteLine($"see '{where} --help' for the options.");
        return ExitCodes.Usage;
    }

    /// <summary>"Cannot parse argument 'x' for option '--n' as expected type 'System.Int32'" in the user's words, not .NET's.</summary>
    private static string Plain(string message)
    {
        var m = System.Text.RegularExpressions.Regex.Match(message, @"^Cannot parse argument '(.*)' for option '([^']+)' as expected type '([^']+)'");
        if (!m.Success) return message;
        string expected = m.Groups[3].Value switch
        {
            var t when t.Contains("Int32", StringComparison.Ordinal) => "an integer",
            var t when t.Contains("UInt64", StringComparison.Ordinal) => "a non-negative integer",
            var t when t.Contains("Single", StringComparison.Ordinal) || t.Contains("Double", StringComparison.Ordinal) => "a number",
            var t => t,
        };
        return $"{m.Groups[2].Value} expects {expected}, got '{m.Groups[1].Value}'.";
    }

    private static string CommandPath(CommandResult result)
    {
        var names = new List<string>();
        for (SymbolResult? r = result; r is not null; r = r.Parent)
            if (r is CommandResult c) names.Insert(0, c.Command is RootCommand ? "scion" : c.Command.Name);
        return string.Join(' ', names);
    }

    /// <summary>The candidate within a small edit distance of <paramref name="token"/> (a third of its length), if any.</summary>
    internal static string? Closest(string token, IEnumerable<string> candidates)
    {
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (var c in candidates.Distinct())
        {
            int d = Distance(token, c);
            if (d < bestDistance) { best = c; bestDistance = d; }
        }
        // Short tokens (-x) are one edit from every other short alias: no suggestion is better than a random one.
        return best is not null && token.Length > 3 && bestDistance <= Math.Max(2, token.Length / 3) ? best : null;
    }

    /// <summary>Levenshtein distance with adjacent transpositions counted as one edit.</summary>
    internal static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        }
        return d[a.Length, b.Length];
    }
}
