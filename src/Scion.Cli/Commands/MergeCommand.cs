using System.CommandLine;
using Scion.Cli.CommandLine;
using Scion.Models.Adapters;
using Scion.Tensors;
using Scion.Training.Merge;

namespace Scion.Cli.Commands;

/// <summary>
/// `scion merge [--model PATH] --adapter DIR --output OUT [--type T] [--force]`: writes the base with the adapter folded
/// in, as GGUF (tensor types kept unless --type) or, when OUT ends in '/' or is a folder, as a Hugging Face folder
/// (config.json + model.safetensors, HF row order, F32 unless --type F16/BF16).
/// </summary>
internal static class MergeCommand
{
    public static Command Build()
    {
        var model = new ModelOptions(adapter: false, tokenizer: false);
        var adapter = Opt.RequiredText("--adapter", "PEFT adapter folder to fold into the base", "DIR");
        var output = Opt.RequiredText("--output", "merged GGUF file, or a Hugging Face folder when it ends in '/'", "PATH", "-o");
        var type = Opt.Text("--type", "tensor type of the merged matrices: F32, F16, BF16, Q8_0, Q4_0, Q4_K or Q6_K (default: keep each tensor's type; F32 for a folder)", "T");
        var force = Opt.Flag("--force", "overwrite an existing output file or write into a non-empty folder");
        var command = new Command("merge", "fold an adapter into the base model (GGUF file or Hugging Face folder)");
        model.AddTo(command);
        command.With(adapter, output, type, force);
        return command.WithHandler((p, io, cancel) =>
        {
            string target = p.GetValue(output)!;
            GgmlType? tensorType = p.GetValue(type) is { } t
                ? Enum.TryParse<GgmlType>(t, ignoreCase: true, out var parsed) && Quantize.CanQuantizeTo(parsed)
                    ? parsed : throw new UsageException($"merge: --type expects F32, F16, BF16, Q8_0, Q4_0, Q4_K or Q6_K, got '{t}'.")
                : null;
            string adapterDir = PathChecks.ExistingFolder(p.GetValue(adapter)!, "--adapter", "adapter");
            // A name the user meant as a GGUF file never silently becomes a Hugging Face folder (or the reverse).
            if (target.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase) && Directory.Exists(target))
                throw new ArgumentException($"--output {target}: is a directory; expected a GGUF file name to write.");
            bool folder = AdapterMerge.IsFolderOutput(target);
            bool existed = Directory.Exists(target);
            if (folder) PathChecks.OutputFolder(target, p.GetValue(force));
            else PathChecks.OutputFile(target, p.GetValue(force));
            string path = model.ModelPath(p, io);
            using var loaded = model.Load(p, io, path);
            var peft = PeftAdapterFiles.Load(adapterDir);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            cancel.ThrowIfCancellationRequested();
            // The merge writer cannot stop part-way, so Ctrl-C removes what it was writing and ends the process (130).
            using var hardStop = cancel.Register(() =>
            {
                PathChecks.DeleteTemporaries(target);
                if (folder)
                {
                    foreach (var file in new[] { "model.safetensors", "config.json" }) PathChecks.DeleteTemporaries(Path.Combine(target, file));
                    if (!existed) TryDeleteFolder(target);
                }
                io.Err.WriteLine("interrupted");
                Environment.Exit(ExitCodes.Interrupted);
            });
            try
            {
                // The merge writes through AtomicFile (a temporary beside each output file, renamed when complete).
                CliProgress.Status(io, $"merging {peft.Pairs.Count} adapted projections into {target}", () =>
                {
                    if (folder) AdapterMerge.WriteHuggingFace(loaded.Model, peft, target, tensorType);
                    else AdapterMerge.WriteGguf(loaded.Model, peft, target, tensorType);
                    return 0;
                });
            }
            catch
            {
                PathChecks.DeleteTemporaries(target);
                if (folder && !existed) TryDeleteFolder(target);
                throw;
            }
            io.Err.WriteLine($"merged {peft.Pairs.Count} adapted projections into {target} in {clock.Elapsed.TotalSeconds:F1} s");
            io.Out.WriteLine(target);
            return ExitCodes.Success;
        });
    }

    private static void TryDeleteFolder(string path)
    {
        try { if (Directory.Exists(path)) Directory.Delete(path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
