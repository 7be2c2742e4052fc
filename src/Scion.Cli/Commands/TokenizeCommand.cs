using System.CommandLine;
using System.Text.Json;
using Scion.Cli.CommandLine;
using Scion.Models.Loading;

namespace Scion.Cli.Commands;

/// <summary>`scion tokenize [--model PATH] [--add-special] [--parse-special]`: a JSON string per stdin line → a JSON array of ids per line.</summary>
internal static class TokenizeCommand
{
    public static Command Build()
    {
        var model = new ModelOptions(adapter: false);
        var addSpecial = Opt.Flag("--add-special", "add the tokenizer's BOS/EOS tokens as the model would");
        var parseSpecial = Opt.Flag("--parse-special", "parse special-token text (e.g. <|im_start|>) as those tokens");
        var command = new Command("tokenize", "tokenize JSON strings from stdin (one per line) into JSON arrays of ids on stdout");
        model.AddTo(command);
        command.With(addSpecial, parseSpecial);
        return command.WithHandler((p, io, cancel) =>
        {
            string path = model.ModelPath(p, io);
            // Only the vocabulary is needed, so vocab-only GGUFs (no tensors) work too.
            var tokenizer = ModelLoader.IsGguf(path) || Directory.Exists(path) && !File.Exists(Path.Combine(path, "config.json"))
                ? ModelLoader.LoadTokenizer(path, int.MaxValue)
                : model.Load(p, io, path).RequireTokenizer();
            bool add = p.GetValue(addSpecial), parse = p.GetValue(parseSpecial);
            int lineNo = 0;
            while (io.In.ReadLine() is { } line)
            {
                cancel.ThrowIfCancellationRequested();
                lineNo++;
                if (line.Length == 0) continue;
                string? text;
                try
                {
                    text = JsonSerializer.Deserialize<string>(line);
                }
                catch (JsonException)
                {
                    throw new InvalidDataException($"stdin line {lineNo}: expected a JSON string such as \"hello\", found {Preview(line)}.");
                }
                if (text is null) throw new InvalidDataException($"stdin line {lineNo}: expected a JSON string, found null.");
                io.Out.WriteLine(JsonSerializer.Serialize(tokenizer.Encode(text, add, parse)));
            }
            return ExitCodes.Success;
        });
    }

    private static string Preview(string line) => line.Length <= 40 ? $"'{line}'" : $"'{line[..40]}...'";
}
