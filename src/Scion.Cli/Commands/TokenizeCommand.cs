using System.Text.Json;
using Scion.Cli.CommandLine;
using Scion.Models.Loading;

namespace Scion.Cli.Commands;

/// <summary>`scion tokenize --model PATH [--add-special] [--parse-special]`: a JSON string per stdin line → a JSON array of ids per line.</summary>
internal static class TokenizeCommand
{
    public static int Run(string[] args, CliIo io)
    {
        var a = CliArguments.Parse("tokenize", args, ["model", "tokenizer"], ["add-special", "parse-special"]);
        string path = a.Require("model");
        // Only the vocabulary is needed, so vocab-only GGUFs (no tensors) work too.
        var tokenizer = ModelLoader.IsGguf(path) || Directory.Exists(path) && !File.Exists(Path.Combine(path, "config.json"))
            ? ModelLoader.LoadTokenizer(path, int.MaxValue)
            : CommonOptions.LoadModel(a, io).RequireTokenizer();
        bool addSpecial = a.Flag("add-special"), parseSpecial = a.Flag("parse-special");
        int lineNo = 0;
        while (io.In.ReadLine() is { } line)
        {
            lineNo++;
            if (line.Length == 0) continue;
            string? text;
            try
            {
                text = JsonSerializer.Deserialize<string>(line);
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"stdin line {lineNo}: expected a JSON string, {e.Message}");
            }
            if (text is null) throw new InvalidDataException($"stdin line {lineNo}: expected a JSON string, found null.");
            io.Out.WriteLine(JsonSerializer.Serialize(tokenizer.Encode(text, addSpecial, parseSpecial)));
        }
        return 0;
    }
}
