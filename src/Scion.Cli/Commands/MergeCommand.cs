using Scion.Cli.CommandLine;
using Scion.Models.Adapters;
using Scion.Models.Loading;
using Scion.Tensors;
using Scion.Training.Merge;

namespace Scion.Cli.Commands;

/// <summary>
/// `scion merge --model PATH --adapter DIR --output OUT [--type F32|F16|BF16|Q8_0|Q4_0|Q4_K|Q6_K]`: writes the base with the
/// adapter folded in, as GGUF (tensor types kept unless --type) or, when OUT ends in '/' or is a folder, as a Hugging
/// Face folder (config.json + model.safetensors, HF row order, F32 unless --type F16/BF16).
/// </summary>
internal static class MergeCommand
{
    public static int Run(string[] args, CliIo io)
    {
        var a = CliArguments.Parse("merge", args, ["model", "adapter", "output", "type", "threads"], []);
        string output = a.Require("output");
        GgmlType? type = a.String("type") is { } t
            ? Enum.TryParse<GgmlType>(t, ignoreCase: true, out var parsed) && Quantize.CanQuantizeTo(parsed)
                ? parsed : throw new UsageException($"merge: --type expects F32, F16, BF16, Q8_0, Q4_0, Q4_K or Q6_K, got '{t}'.")
            : null;
        using var loaded = ModelLoader.Load(a.Require("model"));
        var peft = PeftAdapterFiles.Load(a.Require("adapter"));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        if (AdapterMerge.IsFolderOutput(output)) AdapterMerge.WriteHuggingFace(loaded.Model, peft, output, type);
        else AdapterMerge.WriteGguf(loaded.Model, peft, output, type);
        io.Err.WriteLine($"merged {peft.Pairs.Count} adapted projections into {output} in {clock.Elapsed.TotalSeconds:F1} s");
        io.Out.WriteLine(output);
        return 0;
    }
}
