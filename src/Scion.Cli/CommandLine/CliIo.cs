namespace Scion.Cli.CommandLine;

/// <summary>
/// The process's streams, injectable for tests. <paramref name="ErrIsTerminal"/> is true only when stderr is the
/// real console and not redirected: then progress is drawn live; otherwise it is written as plain, parseable lines.
/// </summary>
public sealed record CliIo(TextReader In, TextWriter Out, TextWriter Err, bool ErrIsTerminal = false)
{
    /// <summary>The real console; progress drawn live when stderr is a terminal.</summary>
    public static CliIo FromConsole() => new(Console.In, Console.Out, Console.Error, !Console.IsErrorRedirected);

    public void Warn(string message) => Err.WriteLine($"warning: {message}");
}
