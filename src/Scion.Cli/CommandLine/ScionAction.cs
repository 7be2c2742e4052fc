using System.CommandLine;
using System.CommandLine.Invocation;

namespace Scion.Cli.CommandLine;

/// <summary>What a command does once its options parsed: returns the exit code.</summary>
public delegate int CommandHandler(ParseResult parse, CliIo io, CancellationToken cancel);

/// <summary>
/// The action of a scion command. <see cref="CliApp"/> calls <see cref="Handler"/> itself with the streams and the
/// Ctrl-C token, so commands never reach for Console directly and tests can run them in-process.
/// </summary>
public sealed class ScionAction(CommandHandler handler) : SynchronousCommandLineAction
{
    public CommandHandler Handler { get; } = handler;

    public override int Invoke(ParseResult parseResult) => Handler(parseResult, CliIo.FromConsole(), CancellationToken.None);
}

public static class CommandExtensions
{
    /// <summary>Sets the command's handler; returns the command so a Build() can end with it.</summary>
    public static Command WithHandler(this Command command, CommandHandler handler)
    {
        command.Action = new ScionAction(handler);
        return command;
    }

    public static Command With(this Command command, params Option[] options)
    {
        foreach (var o in options) command.Options.Add(o);
        return command;
    }
}
