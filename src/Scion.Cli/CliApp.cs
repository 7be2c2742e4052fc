using Scion.Cli.CommandLine;
using Scion.Cli.Commands;
using Scion.Models.Formats;

namespace Scion.Cli;

/// <summary>Dispatches `scion COMMAND ...`; results go to stdout, progress, timings and errors to stderr.</summary>
public static class CliApp
{
    private static readonly Dictionary<string, (string Summary, Func<string[], CliIo, int> Run)> Commands = new()
    {
        ["generate"] = ("generate text from a prompt", GenerateCommand.Run),
        ["logits"] = ("write top logits and greedy continuations as JSON lines (golden format)", LogitsCommand.Run),
        ["tokenize"] = ("tokenize JSON strings from stdin, one per line", TokenizeCommand.Run),
        ["inspect"] = ("print a model's architecture, tensors and memory needs", InspectCommand.Run),
        ["template"] = ("render a chat template for JSON lines on stdin", TemplateCliCommand.Run),
        ["finetune"] = ("train a LoRA / PiSSA / DoRA adapter on JSONL data", FinetuneCommand.Run),
        ["merge"] = ("fold an adapter into the base model (GGUF or HF folder)", MergeCommand.Run),
        ["eval"] = ("loss and perplexity of a model (and adapter) on JSONL data", EvalCommand.Run),
        ["chat"] = ("chat interactively (or over piped stdin) with history", ChatCommand.Run),
        ["bench"] = ("measure prefill/decode tokens/s against the machine's bandwidth and FMA roofline", BenchCommand.Run),
        ["quantize"] = ("convert a model to a GGUF of another type (Q8_0, Q4_0, Q4_K_M, F16 ...)", QuantizeCommand.Run),
        ["create"] = ("write a random-weight model of a preset or config.json shape as GGUF", CreateCommand.Run),
    };

    public static int Run(string[] args, TextReader stdin, TextWriter stdout, TextWriter stderr)
    {
        var io = new CliIo(stdin, stdout, stderr);
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            PrintHelp(stdout);
            return args.Length == 0 ? 2 : 0;
        }
        if (!Commands.TryGetValue(args[0], out var command))
        {
            stderr.WriteLine($"error: unknown command '{args[0]}'. Commands: {string.Join(", ", Commands.Keys)}.");
            return 2;
        }
        try
        {
            return command.Run(args[1..], io);
        }
        catch (UsageException e)
        {
            stderr.WriteLine($"error: {e.Message}");
            return 2;
        }
        catch (Exception e) when (e is ModelFormatException or FileNotFoundException or DirectoryNotFoundException or ArgumentException
                                       or NotSupportedException or InvalidDataException or IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"error: {e.Message}");
            return 1;
        }
        catch (Exception e)
        {
            stderr.WriteLine($"internal error ({e.GetType().Name}): {e.Message}");
            stderr.WriteLine(e.StackTrace);
            return 1;
        }
    }

    private static void PrintHelp(TextWriter w)
    {
        w.WriteLine("scion — run and adapt Llama-family models in pure .NET");
        w.WriteLine();
        w.WriteLine("usage: scion COMMAND [options]   (scion COMMAND --help for its options)");
        w.WriteLine();
        foreach (var (name, (summary, _)) in Commands) w.WriteLine($"  {name,-10} {summary}");
    }
}

/// <summary>The process's streams, injectable for tests.</summary>
public sealed record CliIo(TextReader In, TextWriter Out, TextWriter Err);
