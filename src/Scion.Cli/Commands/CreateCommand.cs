using System.CommandLine;
using System.Text.Json;
using Scion.Cli.CommandLine;
using Scion.Models.Formats;
using Scion.Models.Loading;
using Scion.Models.Quantization;

namespace Scion.Cli.Commands;

/// <summary>
/// `scion create --config PRESET|config.json [--type T] --output OUT.gguf [--seed S] [--tokenizer GGUF] [--name N]`:
/// a random-weight model written as GGUF one tensor at a time (a 1.1B model never sits in memory whole). The same
/// seed gives the same bytes. Without --tokenizer the file gets a byte-level vocabulary of the model's size.
/// </summary>
internal static class CreateCommand
{
    public static Command Build()
    {
        var config = Opt.RequiredText("--config", $"shape: a preset ({string.Join(", ", ModelPresets.All.Keys)}) or a Hugging Face config.json", "PRESET|FILE");
        var type = new Option<string>("--type") { Description = "tensor type or mix: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K or Q4_K_M", DefaultValueFactory = _ => "F16", HelpName = "T" };
        var output = Opt.RequiredText("--output", "GGUF file to write", "OUT.gguf", "-o");
        var seed = Opt.ULong("--seed", 1, "weight seed: the same seed writes the same bytes", "-s");
        var tokenizer = Opt.Text("--tokenizer", "copy the tokenizer from this GGUF (its vocabulary size must equal the model's)", "VOCAB.gguf");
        var name = Opt.Text("--name", "general.name of the file (default: random-ARCH-seedS)", "NAME");
        var force = Opt.Flag("--force", "overwrite an existing output file");
        var json = Opt.Flag("--json", "print one JSON object (output, parameters, type, seed, bytes, fallbacks) instead of the summary");
        var command = new Command("create", "write a random-weight model of a preset or config.json shape as GGUF");
        command.With(config, type, output, seed, tokenizer, name, force, json);
        return command.WithHandler((p, io, cancel) =>
        {
            QuantizationMix mix;
            Scion.Models.Llama.LlamaConfig shape;
            try
            {
                mix = QuantizationMix.Parse(p.GetValue(type)!);
                shape = ModelPresets.Resolve(p.GetValue(config)!);
            }
            catch (ArgumentException e)
            {
                throw new UsageException($"create: {e.Message}");
            }
            string target = PathChecks.OutputFile(p.GetValue(output)!, p.GetValue(force));
            string? vocab = p.GetValue(tokenizer);
            if (vocab is not null)
            {
                PathChecks.ExistingFile(vocab, "--tokenizer", "GGUF tokenizer");
                if (!ModelLoader.IsGguf(vocab)) throw new UsageException($"create: --tokenizer must be a GGUF file with tokenizer.* metadata, got '{vocab}'.");
            }
            ulong weightSeed = p.GetValue(seed);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            using var tokenizerFile = vocab is not null ? GgufFile.Open(vocab) : null;
            TokenizerChoice choice = tokenizerFile is not null ? new TokenizerChoice.FromGguf(tokenizerFile.Metadata) : new TokenizerChoice.ByteLevel();
            IReadOnlyList<ExportedTensor> tensors;
            try
            {
                tensors = CliProgress.Bar(io, $"writing {mix.Name}", cancel,
                    progress => GgufExport.CreateRandom(shape, weightSeed, mix, target, choice, p.GetValue(name), progress));
            }
            finally
            {
                Scion.Models.Formats.AtomicFile.DeleteStaleTemporaries(target);
            }
            long parameters = tensors.Sum(t => t.Shape.Aggregate(1L, (x, y) => x * y));
            if (p.GetValue(json))
            {
                io.Out.WriteLine(JsonSerializer.Serialize(new
                {
                    output = target,
                    architecture = shape.Architecture,
                    parameters,
                    type = mix.Name,
                    seed = weightSeed,
                    tensors = tensors.Count,
                    bytes = new FileInfo(target).Length,
                    seconds = Math.Round(clock.Elapsed.TotalSeconds, 3),
                    fallbacks = tensors.Where(t => t.Note is not null).Select(t => new { name = t.Name, type = t.Type.ToString(), note = t.Note }),
                }, JsonOutput.Options));
                return ExitCodes.Success;
            }
            io.Out.WriteLine($"wrote {target}: {shape.Architecture} {parameters / 1e6:F1}M parameters, {mix.Name}, seed {weightSeed}, " +
                             $"{new FileInfo(target).Length / 1048576.0:F2} MiB in {clock.Elapsed.TotalSeconds:F1} s");
            foreach (var t in tensors.Where(t => t.Note is not null))
                io.Out.WriteLine($"  fallback: {t.Name}: {t.Note}");
            return ExitCodes.Success;
        });
    }
}
