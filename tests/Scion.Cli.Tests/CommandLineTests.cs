using System.CommandLine;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Scion.Cli.Tests;

/// <summary>The command line itself: help, version, aliases, bundling, errors and exit codes (System.CommandLine).</summary>
public class CommandLineTests
{
    [Fact]
    public void RootHelpListsEveryCommand()
    {
        var r = CliRunner.Run("--help");
        Assert.Equal(0, r.ExitCode);
        foreach (var command in CliApp.BuildRoot().Subcommands) Assert.Contains(command.Name, r.Out);
        var help = CliRunner.Run("help", "generate");
        Assert.Equal(0, help.ExitCode);
        Assert.Contains("--max-tokens", help.Out);
        var none = CliRunner.Run();
        Assert.Equal(2, none.ExitCode);
        Assert.Contains("generate", none.Err);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    public void CommandHelpShowsDescriptionsAndDefaults(string flag)
    {
        var r = CliRunner.Run("generate", flag);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("generate text from a prompt", r.Out);
        Assert.Matches(@"-n, --max-tokens <N>\s+most tokens to generate \[default: 128\]", r.Out);
        Assert.Contains("-m, --model", r.Out);
        Assert.Contains("-p, --prompt", r.Out);
    }

    [Fact]
    public void EveryOptionHasADescriptionAndEveryDefaultIsShown()
    {
        foreach (var command in CliApp.BuildRoot().Subcommands)
        {
            var help = CliRunner.Run(command.Name, "--help").Out;
            foreach (var option in command.Options)
            {
                Assert.False(string.IsNullOrWhiteSpace(option.Description), $"{command.Name} {option.Name} has no description");
                if (option.HasDefaultValue && option.ValueType != typeof(bool))
                    Assert.Matches(new Regex(Regex.Escape(option.Name) + @"[^\n]*\[default: "), help);
            }
        }
    }

    [Fact]
    public void VersionNamesTheCommit()
    {
        var r = CliRunner.Run("--version");
        Assert.Equal(0, r.ExitCode);
        Assert.Matches(@"^scion \d+\.\d+\.\d+ \(commit ([0-9a-f]{7,}|unknown)\)\n$", r.Out);
    }

    [Fact]
    public void ShortAliasesMeanTheLongOptions()
    {
        var longForm = CliRunner.Run("generate", "--model", Bundled.Model, "--prompt", "Once upon a time", "--max-tokens", "12", "--seed", "3",
            "--threads", "1", "--json");
        var shortForm = CliRunner.Run("generate", "-m", Bundled.Model, "-p", "Once upon a time", "-n", "12", "-s", "3", "-t", "1", "--json");
        Assert.True(longForm.ExitCode == 0, longForm.Err);
        Assert.True(shortForm.ExitCode == 0, shortForm.Err);
        Assert.Equal(Text(longForm.Out), Text(shortForm.Out));
        Assert.Equal(12, JsonDocument.Parse(shortForm.Out).RootElement.GetProperty("tokens").GetArrayLength());
        // -c limits the KV cache: prompt (6 tokens with BOS) plus at most 4 generated.
        var context = CliRunner.Run("generate", "-p", "Once upon a time", "-n", "12", "-c", "10", "--greedy", "--json");
        Assert.True(context.ExitCode == 0, context.Err);
        Assert.Equal(10 - JsonDocument.Parse(context.Out).RootElement.GetProperty("prompt_tokens").GetInt32(),
            JsonDocument.Parse(context.Out).RootElement.GetProperty("tokens").GetArrayLength());
    }

    [Fact]
    public void PosixBundlingAndAttachedValues()
    {
        var bundled = CliRunner.Run("generate", "-p", "Once upon a time", "-n8", "--greedy", "--json");
        Assert.True(bundled.ExitCode == 0, bundled.Err);
        Assert.Equal(8, JsonDocument.Parse(bundled.Out).RootElement.GetProperty("tokens").GetArrayLength());
        var equals = CliRunner.Run("generate", "--prompt=Once upon a time", "--max-tokens=8", "--greedy", "--json");
        Assert.Equal(Text(bundled.Out), Text(equals.Out));
    }

    [Fact]
    public void UnknownTokensAreUsageErrorsNamingThem()
    {
        var typo = CliRunner.Run("generate", "--max-tokns", "5", "-p", "hi");
        Assert.Equal(2, typo.ExitCode);
        Assert.Contains("unknown option '--max-tokns'", typo.Err);
        Assert.Contains("Did you mean '--max-tokens'?", typo.Err);
        // A single-dash token that is no alias is an error too, never ignored.
        var dash = CliRunner.Run("generate", "-x", "-p", "hi");
        Assert.Equal(2, dash.ExitCode);
        Assert.Contains("'-x'", dash.Err);
        var command = CliRunner.Run("generat", "-p", "hi");
        Assert.Equal(2, command.ExitCode);
        Assert.Contains("Did you mean 'generate'?", command.Err);
        var missing = CliRunner.Run("generate");
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("--prompt", missing.Err);
        var notANumber = CliRunner.Run("generate", "-p", "hi", "-n", "lots");
        Assert.Equal(2, notANumber.ExitCode);
        Assert.Contains("--max-tokens expects an integer, got 'lots'", notANumber.Err);
        Assert.DoesNotContain("System.", notANumber.Err);
    }

    [Fact]
    public void OptionsAreCheckedBeforeTheModelLoads()
    {
        // The model does not exist: a range error must win (exit 2), and nothing says "loaded".
        var r = CliRunner.Run("generate", "--model", "/nonexistent/m.gguf", "-p", "hi", "--top-p", "2");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--top-p", r.Err);
        Assert.DoesNotContain("loaded", r.Err);
        var ft = CliRunner.Run("finetune", "--data", "x.jsonl", "--output", "o", "--epochs", "1", "--steps", "2");
        Assert.Equal(2, ft.ExitCode);
        Assert.Contains("not both", ft.Err);
    }

    [Fact]
    public void CompletionDirectiveSuggestsOptions()
    {
        // dotnet-suggest's form: the cursor position and the whole line.
        var r = CliRunner.Run("[suggest:14]", "generate --max");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("--max-tokens", r.Out);
    }

    [Fact]
    public void EveryCommandAcceptsTheBundledModelWhenModelIsOmitted()
    {
        var r = CliRunner.Run("generate", "-p", "Once upon a time", "-n", "4", "--greedy");
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Contains("using the bundled model models/stories260K.gguf", r.Err);
        Assert.StartsWith("Once upon a time", r.Out);
        var inspect = CliRunner.Run("inspect", "--json");
        Assert.True(inspect.ExitCode == 0, inspect.Err);
        Assert.Equal(64, JsonDocument.Parse(inspect.Out).RootElement.GetProperty("dim").GetInt32());
        // The option is optional everywhere it exists.
        foreach (var command in CliApp.BuildRoot().Subcommands)
            if (command.Options.FirstOrDefault(o => o.Name == "--model") is { } model) Assert.False(model.Required, command.Name);
    }

    private static string Text(string json) => JsonDocument.Parse(json).RootElement.GetProperty("text").GetString()!;
}
