using Scion.Cli;
using Scion.Cli.CommandLine;
using Scion.Cli.Commands;

// Ctrl-C: while a chat reply streams it stops that reply; otherwise the first press asks the running command to stop
// cleanly (checkpoint, temporaries removed, exit code 130) and a second press ends the process at once.
using var interrupt = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    if (ChatCommand.CurrentReply is { } reply)
    {
        e.Cancel = true;
        reply.Cancel();
        return;
    }
    // At the chat prompt (blocked reading a line) or on a second press: end the process now.
    if (ChatCommand.AtPrompt || interrupt.IsCancellationRequested) return;
    e.Cancel = true;
    Console.Error.WriteLine("stopping (Ctrl-C again ends the process at once)");
    interrupt.Cancel();
};
return CliApp.Run(args, CliIo.FromConsole(), interrupt.Token);
