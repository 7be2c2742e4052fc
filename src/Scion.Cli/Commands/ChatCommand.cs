using System.CommandLine;
using Scion.Cli.CommandLine;
using Scion.Models.Generation;
using Scion.Models.Tokenization.Templates;

namespace Scion.Cli.Commands;

/// <summary>
/// `scion chat [--model PATH] [--adapter DIR] [--system TEXT] [--template FILE]`: an interactive chat that streams
/// replies and keeps history. `/reset` starts over, `/exit` quits, Ctrl-C stops the current reply; piped stdin works
/// (one user turn per line). A conversation that outgrows the context drops its oldest turns and goes on.
/// </summary>
internal static class ChatCommand
{
    /// <summary>While a reply streams, Ctrl-C stops that reply only (Program routes the key here).</summary>
    internal static CancellationTokenSource? CurrentReply;

    /// <summary>True while waiting for the user's next line: Ctrl-C there ends the program, as usual.</summary>
    internal static volatile bool AtPrompt;

    public static Command Build()
    {
        var model = new ModelOptions(kvCache: true);
        var sampling = new SamplingOptionSet();
        var system = Opt.Text("--system", "system prompt, kept when old turns are dropped");
        var template = Opt.Text("--template", "chat template file (Jinja2) to use instead of the model's own", "FILE");
        var maxTokens = Opt.Int("--max-tokens", 512, "most tokens per reply", 1, 1 << 24, "-n");
        var context = Opt.OptionalInt("--context", "KV cache size in tokens for the whole conversation (default: the model's context length)", 2, 1 << 24, "-c");
        var stop = new Option<string[]>("--stop") { Description = "end a reply when it contains this (repeatable; every one counts)", HelpName = "TEXT" };

        var command = new Command("chat", "chat interactively (or over piped stdin) with history");
        model.AddTo(command);
        command.With(system, template, maxTokens, context, stop);
        sampling.AddTo(command);
        return command.WithHandler((p, io, cancel) =>
        {
            string path = model.ModelPath(p, io);
            string? templateFile = p.GetValue(template) is { } f ? PathChecks.ExistingFile(f, "--template", "chat template") : null;
            ulong seed = p.GetValue(sampling.Temperature) == 0 ? p.GetValue(sampling.Seed) ?? 42 : sampling.ResolveSeed(p, io);
            var options = new GenerationOptions
            {
                MaxTokens = p.GetValue(maxTokens),
                Sampling = sampling.Parse(p, seed),
                Stop = [.. (p.GetValue(stop) ?? []).Select(Text.Unescape)],
            };

            using var loaded = model.Load(p, io, path);
            var adapter = model.LoadAdapter(p, loaded, io);
            var tokenizer = loaded.RequireTokenizer();
            string? source = templateFile is not null ? File.ReadAllText(templateFile) : loaded.ChatTemplate;
            if (source is null) io.Err.WriteLine("the model has no chat template; using ChatML");
            if (p.GetValue(context) is { } window && window > loaded.Model.Config.ContextLength)
                throw new UsageException($"--context {window} is more than the model's context length of {loaded.Model.Config.ContextLength}.");
            ChatSession session;
            try
            {
                session = new ChatSession(loaded.Model, tokenizer, source, p.GetValue(system), p.GetValue(context)) { Adapter = adapter };
            }
            catch (TemplateException e)
            {
                throw new ArgumentException($"chat template: {e.Message}", e);
            }
            bool interactive = io.ErrIsTerminal && !Console.IsInputRedirected && ReferenceEquals(io.In, Console.In);
            if (interactive) io.Err.WriteLine("chat: /reset starts over, /exit quits, Ctrl-C stops a reply");
            while (!cancel.IsCancellationRequested)
            {
                if (interactive) { io.Err.Write("> "); io.Err.Flush(); }
                AtPrompt = interactive;
                string? line = io.In.ReadLine();
                AtPrompt = false;
                if (line is null || line.Trim() == "/exit") break;
                if (line.Trim() == "/reset")
                {
                    session.Reset();
                    io.Err.WriteLine("(history cleared)");
                    continue;
                }
                if (line.Trim().Length == 0) continue;
                var reply = CancellationTokenSource.CreateLinkedTokenSource(cancel);
                CurrentReply = reply;
                GenerationResult result;
                try
                {
                    bool told = false;
                    void TellDropped()
                    {
                        // Dropping happens before the reply streams: say so before its first piece.
                        if (told || session.DroppedMessages == 0) return;
                        told = true;
                        io.Err.WriteLine($"(context full: dropped the {session.DroppedMessages} oldest messages{(p.GetValue(system) is not null ? ", kept the system prompt" : "")})");
                    }
                    result = session.Send(Text.Unescape(line), options, piece => { TellDropped(); io.Out.Write(piece); io.Out.Flush(); }, reply.Token);
                    TellDropped();
                }
                catch (TemplateException e)
                {
                    io.Err.WriteLine($"error: chat template: {e.Message}");
                    continue;
                }
                catch (ArgumentException e)
                {
                    // One message longer than the whole context: say so and wait for the next.
                    io.Err.WriteLine($"error: {e.Message}");
                    continue;
                }
                finally
                {
                    CurrentReply = null;
                    reply.Dispose();
                }
                io.Out.WriteLine();
                io.Err.WriteLine($"[{result.Tokens.Length} tokens, {result.DecodeTokensPerSecond:F1} tokens/s, {result.FinishReason}{(result.FinishReason == "cancelled" ? " by Ctrl-C" : "")}]");
            }
            return cancel.IsCancellationRequested ? ExitCodes.Interrupted : ExitCodes.Success;
        });
    }
}
