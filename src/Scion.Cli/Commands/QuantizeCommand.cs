using Scion.Cli.CommandLine;
using Scion.Models.Formats;
using Scion.Models.Loading;
using Scion.Models.Quantization;

namespace Scion.Cli.Commands;

/// <summary>
/// `scion quantize --model IN --type T --output OUT.gguf [--tokenizer GGUF]`: converts a GGUF, Hugging Face folder
/// or llama2.c checkpoint to a GGUF of type T (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K, Q4_K_M; see
/// <see cref="QuantizationMix"/>). Progress per tensor on stderr, a summary on stdout.
/// </summary>
internal static class QuantizeCommand
{
    public static int Run(string[] args, CliIo io)
    {
        var a = CliArguments.Parse("quantize", args, ["model", "type", "output", "tokenizer"], []);
        string input = a.Require("model");
        string output = a.Require("output");
        QuantizationMix mix;
        try
        {
            mix = QuantizationMix.Parse(a.Require("type"));
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"quantize: {e.Message}");
        }
        if (Path.GetFullPath(output) == Path.GetFullPath(input))
            throw new UsageException("quantize: --output must differ from --model (the input is memory-mapped while the output is written).");

        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var loaded = ModelLoader.Load(input);
        io.Err.WriteLine($"loaded {loaded.Format} model {input} in {clock.Elapsed.TotalMilliseconds:F0} ms");
        TokenizerChoice tokenizer = new TokenizerChoice.FromModel();
        GgufFile? tokenizerFile = null;
        try
        {
            if (a.String("tokenizer") is { } tk)
            {
                if (!ModelLoader.IsGguf(tk)) throw new UsageException($"quantize: --tokenizer must be a GGUF file with tokenizer.* metadata, got '{tk}'.");
                tokenizerFile = GgufFile.Open(tk);
                tokenizer = new TokenizerChoice.FromGguf(tokenizerFile.Metadata);
            }
            var tensors = GgufExport.Quantize(loaded, mix, output, tokenizer, io.Err.WriteLine, w => io.Err.WriteLine($"warning: {w}"));
            long inSize = InputBytes(input);
            long outSize = new FileInfo(output).Length;
            io.Out.WriteLine($"wrote {output}: {mix.Name}, {tensors.Count} tensors, {outSize / 1048576.0:F2} MiB (input {inSize / 1048576.0:F2} MiB) in {clock.Elapsed.TotalSeconds:F1} s");
            foreach (var g in tensors.GroupBy(t => t.Type).OrderBy(g => g.Key))
                io.Out.WriteLine($"  {g.Key,-6} {g.Count(),5} tensors");
            foreach (var t in tensors.Where(t => t.Note is not null))
                io.Out.WriteLine($"  fallback: {t.Name}: {t.Note}");
            return 0;
        }
        finally
        {
            tokenizerFile?.Dispose();
        }
    }

    private static long InputBytes(string path) => Directory.Exists(path)
        ? Directory.EnumerateFiles(path).Sum(f => new FileInfo(f).Length)
        : new FileInfo(path).Length;
}
