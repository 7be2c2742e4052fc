using System.CommandLine.Help;
using System.Text.RegularExpressions;

namespace Scion.Cli.Tests;

/// <summary>
/// The README's command reference and the parser's tree cannot drift apart: every option `scion COMMAND --help`
/// lists is in the README's synopsis of that command (with its short alias), and every option there exists.
/// </summary>
public partial class ReadmeOptionsTests
{
    /// <summary>README synopsis lines: "scion NAME ..." plus indented continuation lines, inside the ```bash blocks of "## Commands".</summary>
    private static Dictionary<string, string> Synopses()
    {
        string readme = File.ReadAllText(Path.Combine(Bundled.RepositoryRoot, "README.md"));
        int start = readme.IndexOf("\n## Commands", StringComparison.Ordinal);
        Assert.True(start >= 0, "README has no '## Commands' section");
        int end = readme.IndexOf("\n## ", start + 5, StringComparison.Ordinal);
        string section = readme[start..(end < 0 ? readme.Length : end)];
        var result = new Dictionary<string, string>();
        foreach (Match block in BashBlock().Matches(section))
        {
            string? current = null;
            foreach (var raw in block.Groups[1].Value.Split('\n'))
            {
                string line = raw.Split("  #")[0]; // comments after two spaces are prose
                var head = CommandLine().Match(line);
                if (head.Success)
                {
                    current = head.Groups[1].Value;
                    result[current] = result.GetValueOrDefault(current, "") + " " + line;
                }
                else if (current is not null && line.StartsWith(' ')) result[current] += " " + line;
                else current = null;
            }
        }
        return result;
    }

    [Fact]
    public void EveryCommandAndOptionInTheHelpIsInTheReadmeAndViceVersa()
    {
        var synopses = Synopses();
        var root = CliApp.BuildRoot();
        Assert.Equal(root.Subcommands.Select(c => c.Name).Order(), synopses.Keys.Order());
        foreach (var command in root.Subcommands)
        {
            string synopsis = synopses[command.Name];
            var documented = LongOption().Matches(synopsis).Select(m => m.Value).ToHashSet();
            var parsed = command.Options.Where(o => o is not HelpOption).Select(o => o.Name).ToHashSet();
            Assert.True(parsed.SetEquals(documented),
                $"scion {command.Name}: in the help only: {string.Join(' ', parsed.Except(documented))}; in the README only: {string.Join(' ', documented.Except(parsed))}");
            // Short aliases are written "-m|--model" in the synopsis.
            foreach (var option in command.Options.Where(o => o is not HelpOption))
                foreach (var alias in option.Aliases.Where(a => !a.StartsWith("--", StringComparison.Ordinal)))
                    Assert.True(synopsis.Contains($"{alias}|{option.Name}", StringComparison.Ordinal), $"scion {command.Name}: README lacks {alias}|{option.Name}");
        }
    }

    [Fact]
    public void ExitCodesAndTheBundledModelAreDocumented()
    {
        string readme = File.ReadAllText(Path.Combine(Bundled.RepositoryRoot, "README.md"));
        foreach (var code in new[] { "0", "1", "2", "130" }) Assert.Matches(new Regex($@"\|\s*{code}\s*\|"), readme);
        Assert.Contains("karpathy/tinyllamas", readme);
        var first = BashBlock().Match(readme).Groups[1].Value.Split('\n').First(l => l.StartsWith("dotnet run", StringComparison.Ordinal));
        Assert.DoesNotContain("../shared", first);
    }

    [GeneratedRegex(@"```bash\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex BashBlock();

    [GeneratedRegex(@"^scion ([a-z-]+)\b")]
    private static partial Regex CommandLine();

    [GeneratedRegex(@"(?<![\w-])--[a-z][a-z0-9-]*")]
    private static partial Regex LongOption();
}
