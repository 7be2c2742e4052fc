using Scion.Cli.CommandLine;
using Scion.Models.Formats;
using Scion.Models.Loading;
using Scion.Models.Quantization;

namespace Scion.Cli.Commands;

/// <summary>
/// `scion create --config PRESET|config.json --type T --output OUT.gguf [--seed S] [--tokenizer GGUF] [--name N]`:
/// a random-weight model written as GGUF one tensor at a time (a 1.1B model never sits in memory whole). The same
/// seed gives the same bytes. Without --tokenizer the file gets a byte-level vocabulary of the model's size.
/// </summary>
internal static class CreateCommand
{
    public static int Run(string[] args, CliIo io)
    {
        var a = CliArguments.Parse("create", args, ["config", "type", "output", "seed", "tokenizer", "name"], []);
        string output = a.Require("output");
        QuantizationMix mix;
        Scion.Models.Llama.LlamaConfig config;
        try
        {
            mix = QuantizationMix.Parse(a.String("type") ?? "F16");
            config = ModelPresets.Resolve(a.Require("config"));
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"create: {e.Message}");
        }
        ulong seed = a.ULong("seed", 1);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        GgufFile? tokenizerFile = null;
        try
        {
            TokenizerChoice tokenizer = new TokenizerChoice.ByteLevel();
            if (a.String("tokenizer") is { } tk)
            {
                if (!ModelLoader.IsGguf(tk)) throw new UsageException($"create: --tokenizer must be a GGUF file with tokenizer.* metadata, got '{tk}'.");
                tokenizerFile = GgufFile.Open(tk);
                tokenizer = new TokenizerChoice.FromGguf(tokenizerFile.Metadata);
            }
            var tensors = GgufExport.CreateRandom(config, seed, mix, output, tokenizer, a.String("name"), io.Err.WriteLine);
            long parameters = tensors.Sum(t => t.Shape.Aggregate(1L, (x, y) => x * y));
            io.Out.WriteLine($"wrote {output}: {config.Architecture} {parameters / 1e6:F1}M parameters, {mix.Name}, seed {seed}, " +
                             $"{new FileInfo(output).Length / 1048576.0:F2} MiB in {clock.Elapsed.TotalSeconds:F1} s");
            foreach (var t in tensors.Where(t => t.Note is not null))
                io.Out.WriteLine($"  fallback: {t.Name}: {t.Note}");
            return 0;
        }
        finally
        {
            tokenizerFile?.Dispose();
        }
    }
}
