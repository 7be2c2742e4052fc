using System.CommandLine;
using System.Text.Json;
using Scion.Cli.CommandLine;
using Scion.Models.Adapters;
using Scion.Models.Quantization;
using Scion.Tensors;
using Scion.Training.Merge;

namespace Scion.Cli.Commands;

/// <summary>
/// `scion merge [--model PATH] --adapter DIR --output OUT [--type T] [--force] [--json]`: writes the base with the adapter folded
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
        var json = Opt.Flag("--json", "print the result (output, tensors, types, fallbacks) as JSON on stdout");
        var command = new Command("merge", "fold an adapter into the base model (GGUF file or Hugging Face folder)");
        model.AddTo(command);
        command.With(adapter, output, type, force, json);
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
            if (folder) PathChecks.OutputFolder(target, p.GetValue(force));
            else PathChecks.OutputFile(target, p.GetValue(force));
            string path = model.ModelPath(p, io);
            using var loaded = model.Load(p, io, path);
            var peft = PeftAdapterFiles.Load(adapterDir);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            cancel.ThrowIfCancellationRequested();
            IReadOnlyList<ExportedTensor> tensors;
            try
            {
                // A bar over tensors; Ctrl-C is raised from the progress callback, so the writer stops between tensors
                // and its AtomicFile removes the temporary it was writing.
                tensors = CliProgress.Bar(io, $"merging {peft.Pairs.Count} adapted projections", cancel, line =>
                {
                    void Report(int i, int n, ExportedTensor t) =>
                        line($"[{i,4}/{n}] {t.Name,-28} [{string.Join(", ", t.Shape)}] {t.Type}{(t.Note is null ? "" : $" ({t.Note})")}");
                    return folder
                        ? AdapterMerge.WriteHuggingFace(loaded, peft, target, tensorType, Report)
                        : AdapterMerge.WriteGguf(loaded.Model, peft, target, tensorType, Report);
                });
            }
            catch
            {
                // The writers delete their own temporary (a folder output is built in one and renamed as one, so the
                // target is untouched); this also sweeps what an earlier killed run left.
                Scion.Models.Formats.AtomicFile.DeleteStaleTemporaries(target);
                throw;
            }
            double seconds = clock.Elapsed.TotalSeconds;
            long bytes = Scion.Models.Formats.PathKind.SizeOnDisk(target);
            if (p.GetValue(json))
            {
                io.Out.WriteLine(JsonSerializer.Serialize(new
                {
                    output = target,
                    format = folder ? "huggingface" : "gguf",
                    adapted_projections = peft.Pairs.Count,
                    tensors = tensors.Count,
                    bytes,
                    seconds = Math.Round(seconds, 3),
                    tensor_types = tensors.GroupBy(t => t.Type).OrderBy(g => g.Key).ToDictionary(g => g.Key.ToString(), g => g.Count()),
                    fallbacks = tensors.Where(t => t.Note is not null).Select(t => new { name = t.Name, type = t.Type.ToString(), note = t.Note }),
                }, JsonOutput.Options));
                return ExitCodes.Success;
            }
            io.Err.WriteLine($"merged {peft.Pairs.Count} adapted projections into {target} ({tensors.Count} tensors, {bytes / 1048576.0:F2} MiB) in {seconds:F1} s");
            foreach (var f in tensors.Where(x => x.Note is not null)) io.Err.WriteLine($"  fallback: {f.Name}: {f.Note}");
            io.Out.WriteLine(target);
            return ExitCodes.Success;
        });
    }
}
