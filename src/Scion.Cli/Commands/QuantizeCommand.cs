using System.CommandLine;
using System.Text.Json;
using Scion.Cli.CommandLine;
using Scion.Models.Formats;
using Scion.Models.Loading;
using Scion.Models.Quantization;

namespace Scion.Cli.Commands;

/// <summary>
/// `scion quantize [--model IN] --type T --output OUT.gguf [--tokenizer GGUF] [--force]`: converts a GGUF, Hugging
/// Face folder or llama2.c checkpoint to a GGUF of type T (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K, Q4_K_M; see
/// <see cref="QuantizationMix"/>). Progress per tensor on stderr, a summary on stdout.
/// </summary>
internal static class QuantizeCommand
{
    public static Command Build()
    {
        var model = new ModelOptions(adapter: false, tokenizer: false);
        var type = Opt.RequiredText("--type", "target type: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K or Q4_K_M (llama.cpp's mixes)", "T");
        var output = Opt.RequiredText("--output", "GGUF file to write", "OUT.gguf", "-o");
        var tokenizer = Opt.Text("--tokenizer", "take the tokenizer from this GGUF (for inputs that carry none)", "VOCAB.gguf");
        var force = Opt.Flag("--force", "overwrite an existing output file");
        var json = Opt.Flag("--json", "print one JSON object (output, sizes, tensors per type, fallbacks) instead of the summary");
        var command = new Command("quantize", "convert a model to a GGUF of another type (Q8_0, Q4_0, Q4_K_M, F16 ...)");
        model.AddTo(command);
        command.With(type, output, tokenizer, force, json);
        return command.WithHandler((p, io, cancel) =>
        {
            QuantizationMix mix;
            try
            {
                mix = QuantizationMix.Parse(p.GetValue(type)!);
            }
            catch (ArgumentException e)
            {
                throw new UsageException($"quantize: {e.Message}");
            }
            string target = PathChecks.OutputFile(p.GetValue(output)!, p.GetValue(force));
            string? vocab = p.GetValue(tokenizer);
            if (vocab is not null)
            {
                PathChecks.ExistingFile(vocab, "--tokenizer", "GGUF tokenizer");
                if (!ModelLoader.IsGguf(vocab)) throw new UsageException($"quantize: --tokenizer must be a GGUF file with tokenizer.* metadata, got '{vocab}'.");
            }
            string input = model.ModelPath(p, io);
            if (Path.GetFullPath(target) == Path.GetFullPath(input))
                throw new UsageException("quantize: --output must differ from --model (the input is memory-mapped while the output is written).");

            var clock = System.Diagnostics.Stopwatch.StartNew();
            using var loaded = model.Load(p, io, input);
            using var tokenizerFile = vocab is not null ? GgufFile.Open(vocab) : null;
            TokenizerChoice choice = tokenizerFile is not null ? new TokenizerChoice.FromGguf(tokenizerFile.Metadata) : new TokenizerChoice.FromModel();
            IReadOnlyList<ExportedTensor> tensors;
            try
            {
                tensors = CliProgress.Bar(io, $"quantizing to {mix.Name}", cancel,
                    progress => GgufExport.Quantize(loaded, mix, target, choice, progress, io.Warn));
            }
            finally
            {
                // The writer deletes its temporary on an exception; this also sweeps one an earlier run's kill left (a live
                // writer's in another process is locked and stays).
                Scion.Models.Formats.AtomicFile.DeleteStaleTemporaries(target);
            }
            long inSize = InputBytes(input);
            long outSize = new FileInfo(target).Length;
            if (p.GetValue(json))
            {
                io.Out.WriteLine(JsonSerializer.Serialize(new
                {
                    output = target,
                    type = mix.Name,
                    tensors = tensors.Count,
                    bytes = outSize,
                    input_bytes = inSize,
                    seconds = Math.Round(clock.Elapsed.TotalSeconds, 3),
                    tensor_types = tensors.GroupBy(t => t.Type).OrderBy(g => g.Key).ToDictionary(g => g.Key.ToString(), g => g.Count()),
                    fallbacks = tensors.Where(t => t.Note is not null).Select(t => new { name = t.Name, type = t.Type.ToString(), note = t.Note }),
                }, JsonOutput.Options));
                return ExitCodes.Success;
            }
            io.Out.WriteLine($"wrote {target}: {mix.Name}, {tensors.Count} tensors, {outSize / 1048576.0:F2} MiB (input {inSize / 1048576.0:F2} MiB) in {clock.Elapsed.TotalSeconds:F1} s");
            foreach (var g in tensors.GroupBy(t => t.Type).OrderBy(g => g.Key))
                io.Out.WriteLine($"  {g.Key,-6} {g.Count(),5} tensors");
            foreach (var t in tensors.Where(t => t.Note is not null))
                io.Out.WriteLine($"  fallback: {t.Name}: {t.Note}");
            return ExitCodes.Success;
        });
    }

    private static long InputBytes(string path) => Scion.Models.Formats.PathKind.SizeOnDisk(path);
}
