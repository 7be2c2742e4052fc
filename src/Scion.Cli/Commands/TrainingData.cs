using Scion.Cli.CommandLine;
using Scion.Models.Loading;
using Scion.Training.Data;

namespace Scion.Cli.Commands;

/// <summary>JSONL loading shared by finetune and eval: --seq-len defaults to the model's context, and examples longer than it are reported.</summary>
internal static class TrainingData
{
    /// <summary>The sequence length: --seq-len if given (at most the context), else the model's context length.</summary>
    public static int SequenceLength(LoadedModel loaded, int? given)
    {
        int context = loaded.Model.Config.ContextLength;
        if (given is { } n && n > context)
            throw new UsageException($"--seq-len {n} is more than the model's context length of {context}.");
        return given ?? context;
    }

    public static JsonlDataset Load(string path, LoadedModel loaded, string? chatTemplate, int seqLen, CliIo io)
    {
        var dataset = JsonlDataset.Load(path, loaded.RequireTokenizer(), chatTemplate, seqLen);
        if (dataset.Truncated > 0)
        {
            int context = loaded.Model.Config.ContextLength;
            io.Warn(seqLen == context
                ? $"{path}: {dataset.Truncated} of {dataset.Examples.Count} examples exceed the model's context of {context} tokens; their tails are cut off."
                : $"{path}: {dataset.Truncated} of {dataset.Examples.Count} examples exceed --seq-len {seqLen}; their tails are cut off.");
        }
        return dataset;
    }
}
