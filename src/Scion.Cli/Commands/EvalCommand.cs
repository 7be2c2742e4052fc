using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Scion.Cli.CommandLine;
using Scion.Models.Adapters;
using Scion.Training.Model;
using Scion.Training.Peft;
using Scion.Training.Trainer;

namespace Scion.Cli.Commands;

/// <summary>`scion eval [--model PATH] [--adapter DIR] --data FILE.jsonl [--json]`: token-mean loss and perplexity on the data's target tokens.</summary>
internal static class EvalCommand
{
    public static Command Build()
    {
        var model = new ModelOptions();
        var data = Opt.RequiredText("--data", "JSONL data: {\"text\"}, {\"prompt\", \"completion\"} or {\"messages\"} per line", "FILE");
        var seqLen = Opt.OptionalInt("--seq-len", "longest example in tokens; longer ones are cut (default: the model's context length)", 2, 1 << 24);
        var batchTokens = Opt.Int("--batch-tokens", 2048, "tokens per forward batch", 2);
        var chatTemplate = Opt.Text("--chat-template", "chat template file for {\"messages\"} data (default: the model's own)", "FILE");
        var json = Opt.Flag("--json", "print one JSON object instead of a line");
        var command = new Command("eval", "loss and perplexity of a model (and adapter) on JSONL data");
        model.AddTo(command);
        command.With(data, seqLen, batchTokens, chatTemplate, json);
        return command.WithHandler((p, io, _) =>
        {
            string file = PathChecks.ExistingFile(p.GetValue(data)!, "--data", "training data");
            string? templateFile = p.GetValue(chatTemplate) is { } t ? PathChecks.ExistingFile(t, "--chat-template", "chat template") : null;
            string path = model.ModelPath(p, io);
            using var loaded = model.Load(p, io, path);
            int length = TrainingData.SequenceLength(loaded, p.GetValue(seqLen));
            var dataset = TrainingData.Load(file, loaded, templateFile is null ? loaded.ChatTemplate : File.ReadAllText(templateFile), length, io);
            var trainingModel = new TrainingModel(loaded.Model);
            if (p.GetValue(model.Adapter) is { } dir) AdapterFactory.Load(trainingModel, PeftAdapterFiles.Load(dir));
            var result = Evaluator.Evaluate(trainingModel, dataset.Examples, p.GetValue(batchTokens));
            if (p.GetValue(json))
            {
                io.Out.WriteLine(JsonSerializer.Serialize(new
                {
                    data = file,
                    adapter = p.GetValue(model.Adapter),
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
            return ExitCodes.Success;
        });
    }
}
