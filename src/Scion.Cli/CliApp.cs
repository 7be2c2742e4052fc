using System.CommandLine;
using System.CommandLine.Help;
using Scion.Cli.CommandLine;
using Scion.Cli.Commands;
using Scion.Models.Formats;
using Scion.Models.Tokenization.Templates;

namespace Scion.Cli;

/// <summary>
/// `scion COMMAND ...` parsed by System.CommandLine. Results go to stdout, progress, timings and errors to stderr;
/// exit codes: 0 success, 1 bad input or runtime failure, 2 usage, 130 interrupted (<see cref="ExitCodes"/>).
/// </summary>
public static class CliApp
{
    /// <summary>Every command, one file each: a new command adds its Build here.</summary>
    private static readonly Func<Command>[] Commands =
    [
        GenerateCommand.Build,
        ChatCommand.Build,
        LogitsCommand.Build,
        TokenizeCommand.Build,
        TemplateCliCommand.Build,
        InspectCommand.Build,
        BenchCommand.Build,
        BenchServeCommand.Build,
        QuantizeCommand.Build,
        CreateCommand.Build,
        FinetuneCommand.Build,
        EvalCommand.Build,
        MergeCommand.Build,
        ServeCommand.Build,
        JobsCommand.Build,
    ];

    /// <summary>The whole command tree (fresh each call: options hold no state, but tests compare trees).</summary>
    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("scion — run, fine-tune and adapt Llama-family models in pure .NET");
        foreach (var build in Commands) root.Subcommands.Add(build());
        // The default --version prints only the assembly version; ours adds the git commit it was built from.
        foreach (var option in root.Options.OfType<VersionOption>()) option.Action = new VersionAction();
        return root;
    }

    private static readonly ParserConfiguration Parsing = new() { EnablePosixBundling = true };

    public static int Run(string[] args, TextReader stdin, TextWriter stdout, TextWriter stderr) =>
        Run(args, new CliIo(stdin, stdout, stderr), CancellationToken.None);

    /// <param name="cancel">Ctrl-C (Program wires it): long work stops cleanly, leaves no temporary files, and exits 130.</param>
    public static int Run(string[] args, CliIo io, CancellationToken cancel)
    {
        var root = BuildRoot();
        if (args.Length == 0)
        {
            // No command: the overview on stderr, as a usage error.
            root.Parse(["--help"], Parsing).Invoke(new InvocationConfiguration { Output = io.Err, Error = io.Err });
            return ExitCodes.Usage;
        }
        // `scion help [COMMAND]`, which the first scion accepted, is `scion [COMMAND] --help`.
        if (args[0] == "help") args = [.. args[1..], "--help"];
        var parse = root.Parse(args, Parsing);
        if (parse.Action is not ScionAction action)
        {
            // Help, --version, [suggest] completion and parse errors: System.CommandLine's own actions, on our streams.
            if (parse.Errors.Count > 0 && parse.Action is System.CommandLine.Invocation.ParseErrorAction)
                return ParseErrors.Report(parse, io.Err);
            return parse.Invoke(new InvocationConfiguration { Output = io.Out, Error = io.Err, EnableDefaultExceptionHandler = false });
        }
        if (parse.Errors.Count > 0) return ParseErrors.Report(parse, io.Err);
        try
        {
            return action.Handler(parse, io, cancel);
        }
        catch (Exception e)
        {
            return Fail(e, io.Err, cancel);
        }
    }

    /// <summary>Every failure becomes one line on stderr and an exit code; only our own bugs get a stack trace.</summary>
    internal static int Fail(Exception e, TextWriter err, CancellationToken cancel)
    {
        // SCION_* settings are read in static constructors: whatever they throw is a bad setting, not a bug here.
        bool setting = e is TypeInitializationException;
        while (e is TypeInitializationException { InnerException: { } inner }) e = inner;
        switch (e)
        {
            case var _ when setting:
                err.WriteLine($"error: {e.Message}");
                return ExitCodes.Failure;
            case OperationCanceledException when cancel.IsCancellationRequested:
                err.WriteLine("interrupted");
                return ExitCodes.Interrupted;
            case UsageException:
                err.WriteLine($"error: {e.Message}");
                return ExitCodes.Usage;
            case ModelFormatException or FileNotFoundException or DirectoryNotFoundException or ArgumentException or NotSupportedException
                or InvalidDataException or IOException or UnauthorizedAccessException or TemplateException or FormatException
                or InvalidOperationException or OutOfMemoryException:
                err.WriteLine($"error: {e.Message}");
                return ExitCodes.Failure;
            default:
                err.WriteLine($"internal error ({e.GetType().Name}): {e.Message}");
                err.WriteLine(e.StackTrace);
                return ExitCodes.Failure;
        }
    }
}
