using System.Globalization;
using System.Text.Json;
using Scion.Cli.CommandLine;
using Scion.Models.Adapters;
using Scion.Models.Loading;
using Scion.Training.Data;
using Scion.Training.Model;
using Scion.Training.Peft;
using Scion.Training.Trainer;

namespace Scion.Cli.Commands;

/// <summary>`scion eval --model PATH [--adapter DIR] --data FILE.jsonl [--json]`: token-mean loss and perplexity on the data's target tokens.</summary>
internal static class EvalCommand
{
    public static int Run(string[] args, CliIo io)
    {
        var a = CliArguments.Parse("eval", args, ["model", "tokenizer", "adapter", "data", "seq-len", "batch-tokens", "threads"], ["json"]);
        string data = a.Require("data");
        int seqLen = a.Int("seq-len", 512, 2);
        using var loaded = ModelLoader.Load(a.Require("model"), a.String("tokenizer"));
        if (a.Has("threads")) loaded.Model.Pool = new Scion.Tensors.WorkerPool(a.Int("threads", 1, 1, 1024));
        var dataset = JsonlDataset.Load(data, loaded.RequireTokenizer(), loaded.ChatTemplate, seqLen);
        var model = new TrainingModel(loaded.Model);
        if (a.String("adapter") is { } dir) AdapterFactory.Load(model, PeftAdapterFiles.Load(dir));
        var result = Evaluator.Evaluate(model, dataset.Examples, a.Int("batch-tokens", 2048, 2));
        if (a.Flag("json"))
        {
            io.Out.WriteLine(JsonSerializer.Serialize(new
            {
                data,
                adapter = a.String("adapter"),
                examples = dataset.Examples.Count,
                tokens = result.Tokens,
                loss = Math.Round(result.Loss, 6),
                perplexity = Math.Round(result.Perplexity, 6),
            }, JsonOutput.Options));
        }
        else
        {
            io.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"loss {result.Loss:F4}  perplexity {result.Perplexity:F4}  ({result.Tokens} target tokens in {dataset.Examples.Count} examples)"));
        }
        return 0;
    }
}
