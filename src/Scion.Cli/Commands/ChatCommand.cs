using Scion.Cli.CommandLine;
using Scion.Models.Generation;
using Scion.Models.Tokenization.Templates;

namespace Scion.Cli.Commands;

/// <summary>
/// `scion chat --model PATH [--adapter DIR] [--system TEXT]`: an interactive chat that streams replies and keeps history.
/// `/reset` starts over, `/exit` quits, Ctrl-C stops the current reply; piped stdin works (one user turn per line).
/// </summary>
internal static class ChatCommand
{
    public static int Run(string[] args, CliIo io)
    {
        var a = CliArguments.Parse("chat", args, [.. CommonOptions.Model, .. CommonOptions.Sampling, "system", "max-tokens", "template"], []);
        using var loaded = CommonOptions.LoadModel(a, io);
        var adapter = CommonOptions.LoadAdapter(a, loaded, io);
        var tokenizer = loaded.RequireTokenizer();
        string? template = a.String("template") is { } file ? File.ReadAllText(file) : loaded.ChatTemplate;
        if (template is null) io.Err.WriteLine("the model has no chat template; using ChatML");
        ChatSession session;
        try
        {
            session = new ChatSession(loaded.Model, tokenizer, template, a.String("system")) { Adapter = adapter };
        }
        catch (TemplateException e)
        {
            throw new ArgumentException($"chat template: {e.Message}", e);
        }
        var options = new GenerationOptions { MaxTokens = a.Int("max-tokens", 512, 1), Sampling = CommonOptions.ParseSampling(a) };
        bool interactive = !Console.IsInputRedirected && ReferenceEquals(io.In, Console.In);
        CancellationTokenSource? current = null;
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            // While a reply streams, Ctrl-C stops that reply only; otherwise it ends the program as usual.
            if (current is { } c) { e.Cancel = true; c.Cancel(); }
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            if (interactive) io.Err.WriteLine("chat: /reset starts over, /exit quits, Ctrl-C stops a reply");
            while (true)
            {
                if (interactive) { io.Err.Write("> "); io.Err.Flush(); }
                string? line = io.In.ReadLine();
                if (line is null || line.Trim() == "/exit") break;
                if (line.Trim() == "/reset")
                {
                    session.Reset();
                    io.Err.WriteLine("(history cleared)");
                    continue;
                }
                if (line.Trim().Length == 0) continue;
                current = new CancellationTokenSource();
                GenerationResult result;
                try
                {
                    result = session.Send(CommonOptions.Unescape(line), options, piece => { io.Out.Write(piece); io.Out.Flush(); }, current.Token);
                }
                catch (TemplateException e)
                {
                    io.Err.WriteLine($"error: chat template: {e.Message}");
                    continue;
                }
                finally
                {
                    var c = current;
                    current = null;
                    c.Dispose();
                }
                io.Out.WriteLine();
                io.Err.WriteLine($"[{result.Tokens.Length} tokens, {result.DecodeTokensPerSecond:F1} tokens/s, {result.FinishReason}{(result.FinishReason == "cancelled" ? " by Ctrl-C" : "")}]");
            }
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
        return 0;
    }
}
