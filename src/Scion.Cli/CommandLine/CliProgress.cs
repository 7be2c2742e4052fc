using System.Text.RegularExpressions;
using Spectre.Console;

namespace Scion.Cli.CommandLine;

/// <summary>
/// Progress of long work: drawn live with Spectre.Console when stderr is a terminal, written as plain lines
/// (one per event, parseable) otherwise, so logs and tests see the same facts a user sees.
/// </summary>
internal static partial class CliProgress
{
    public static IAnsiConsole Console(CliIo io) => AnsiConsole.Create(new AnsiConsoleSettings
    {
        Out = new AnsiConsoleOutput(io.Err),
        Interactive = InteractionSupport.Yes,
        Ansi = AnsiSupport.Detect,
    });

    /// <summary>Runs <paramref name="work"/> under a spinner on a terminal; in plain mode it just runs.</summary>
    public static T Status<T>(CliIo io, string text, Func<T> work)
    {
        if (!io.ErrIsTerminal) return work();
        T result = default!;
        Console(io).Status().Spinner(Spinner.Known.Dots).Start(Markup.Escape(text), _ => result = work());
        return result;
    }

    /// <summary>
    /// A bar driven by per-item lines of the form <c>[ i/n] what</c> (the writers' progress format). In plain mode
    /// each line goes to stderr as is. Cancellation is checked at every line: the writer stops, its temporary file
    /// is removed by the writer's own cleanup, and <see cref="OperationCanceledException"/> reaches the caller.
    /// </summary>
    public static T Bar<T>(CliIo io, string title, CancellationToken cancel, Func<Action<string>, T> work)
    {
        if (!io.ErrIsTerminal)
        {
            return work(line =>
            {
                cancel.ThrowIfCancellationRequested();
                io.Err.WriteLine(line);
            });
        }
        T result = default!;
        Console(io).Progress().AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(title), maxValue: 1);
                result = work(line =>
                {
                    cancel.ThrowIfCancellationRequested();
                    var m = ItemLine().Match(line);
                    if (!m.Success) return;
                    task.MaxValue = double.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
                    task.Value = double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                    task.Description = Markup.Escape($"{title} {m.Groups[3].Value.Trim()}");
                });
                task.Value = task.MaxValue;
                task.Description = Markup.Escape(title);
            });
        return result;
    }

    [GeneratedRegex(@"^\[\s*(\d+)/(\d+)\]\s*(\S*)")]
    private static partial Regex ItemLine();
}
