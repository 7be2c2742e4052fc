using System.Globalization;
using System.Text.Json;
using Scion.Cli.CommandLine;
using Scion.Models.Loading;
using Scion.Training.Data;
using Scion.Training.Model;
using Scion.Training.Optim;
using Scion.Training.Peft;
using Scion.Training.Trainer;

namespace Scion.Cli.Commands;

/// <summary>
/// `scion finetune --model PATH --data FILE.jsonl --output DIR [options]`: trains a LoRA / PiSSA / DoRA adapter and
/// writes it to DIR as PEFT files (adapter_config.json, adapter_model.safetensors), with metrics.jsonl and checkpoints.
/// </summary>
internal static class FinetuneCommand
{
    private static readonly string[] Options =
    [
        "model", "tokenizer", "data", "output", "method", "rank", "alpha", "dropout", "targets", "layers", "epochs", "steps", "lr",
        "batch-tokens", "seq-len", "grad-accum", "warmup", "schedule", "weight-decay", "clip", "seed", "resume", "validation",
        "validation-split", "eval-every", "checkpoint-every", "checkpointing", "threads",
    ];

    public static int Run(string[] args, CliIo io) => Run(args, io, CancellationToken.None);

    /// <summary>Ctrl-C (or <paramref name="external"/>) stops between optimizer steps after writing a checkpoint.</summary>
    public static int Run(string[] args, CliIo io, CancellationToken external)
    {
        var a = CliArguments.Parse("finetune", args, Options, ["rslora"]);
        string data = a.Require("data"), output = a.Require("output");
        if (a.Has("epochs") && a.Has("steps")) throw new UsageException("finetune: give --epochs or --steps, not both.");
        if (a.Has("validation") && a.Has("validation-split")) throw new UsageException("finetune: give --validation or --validation-split, not both.");
        var peft = ParsePeft(a);
        var options = ParseTrainer(a);
        int seqLen = a.Int("seq-len", 512, 2);

        using var loaded = ModelLoader.Load(a.Require("model"), a.String("tokenizer"));
        if (a.Has("threads")) loaded.Model.Pool = new Scion.Tensors.WorkerPool(a.Int("threads", 1, 1, 1024));
        var tokenizer = loaded.RequireTokenizer();
        var dataset = JsonlDataset.Load(data, tokenizer, loaded.ChatTemplate, seqLen);
        io.Err.WriteLine($"{data}: {dataset.Examples.Count} examples, {dataset.Tokens} tokens ({dataset.TargetTokens} trained on)" +
                         (dataset.Truncated > 0 ? $", {dataset.Truncated} cut to {seqLen} tokens" : "") +
                         (dataset.Skipped > 0 ? $", {dataset.Skipped} skipped (no target tokens)" : ""));
        List<TrainingExample> train = [.. dataset.Examples];
        List<TrainingExample>? validation = null;
        if (a.String("validation") is { } valPath)
            validation = [.. JsonlDataset.Load(valPath, tokenizer, loaded.ChatTemplate, seqLen).Examples];
        else if (a.Has("validation-split"))
            (train, validation) = DataOrder.Split(dataset.Examples, a.Float("validation-split", 0.1f), options.Seed);
        if (validation is not null) io.Err.WriteLine($"validation: {validation.Count} examples");

        var model = new TrainingModel(loaded.Model);
        var tuner = new FineTuner(model, peft, options, train, validation, output, Path.GetFileName(Path.TrimEndingDirectorySeparator(loaded.Path)))
        {
            Progress = io.Err,
        };
        io.Err.WriteLine($"training {peft.Method.ToString().ToLowerInvariant()} rank {peft.Rank} on {model.Adapters().Count()} projections " +
                         $"({model.Parameters().Sum(p => (long)p.Length)} parameters) for {tuner.TotalSteps} steps");
        if (a.String("resume") is { } resume) tuner.Resume(resume);

        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(external);
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true; // keep the process alive long enough to write the checkpoint
            cancel.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        TrainResult result;
        try
        {
            result = tuner.Run(cancel.Token);
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
        var summary = new Dictionary<string, object?>
        {
            ["output"] = output,
            ["steps"] = result.Steps,
            ["interrupted"] = result.Interrupted,
            ["final_loss"] = result.Losses.Count > 0 ? Math.Round(result.Losses[^1], 6) : null,
            ["eval_loss"] = result.FinalEval is { } ev ? Math.Round(ev.Loss, 6) : null,
            ["eval_perplexity"] = result.FinalEval is { } ev2 ? Math.Round(ev2.Perplexity, 6) : null,
            ["checkpoint"] = result.CheckpointDirectory,
        };
        io.Out.WriteLine(JsonSerializer.Serialize(summary, JsonOutput.Options));
        return result.Interrupted ? 130 : 0;
    }

    private static PeftOptions ParsePeft(CliArguments a)
    {
        var method = (a.String("method") ?? "lora") switch
        {
            "lora" => PeftMethod.Lora,
            "pissa" => PeftMethod.Pissa,
            "dora" => PeftMethod.Dora,
            var m => throw new UsageException($"finetune: --method expects lora, pissa or dora, got '{m}'."),
        };
        int rank = a.Int("rank", 8, 1);
        var peft = new PeftOptions
        {
            Method = method,
            Rank = rank,
            Alpha = a.Float("alpha", 2 * rank),
            Dropout = a.Float("dropout", 0),
            UseRslora = a.Flag("rslora"),
            Targets = a.String("targets") is { } t ? PeftOptions.ParseTargets(t) : PeftOptions.ParseTargets("q_proj,v_proj"),
            Layers = a.String("layers") is { } l ? ParseInts(l, "layers") : null,
        };
        try
        {
            peft.Validate();
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"finetune: {e.Message}");
        }
        return peft;
    }

    private static TrainerOptions ParseTrainer(CliArguments a)
    {
        var schedule = (a.String("schedule") ?? "cosine") switch
        {
            "cosine" => LrDecay.Cosine,
            "linear" => LrDecay.Linear,
            "constant" => LrDecay.Constant,
            var s => throw new UsageException($"finetune: --schedule expects cosine, linear or constant, got '{s}'."),
        };
        bool checkpointing = (a.String("checkpointing") ?? "off") switch
        {
            "on" => true,
            "off" => false,
            var s => throw new UsageException($"finetune: --checkpointing expects on or off, got '{s}'."),
        };
        var options = new TrainerOptions
        {
            Epochs = a.Int("epochs", 1, 1),
            Steps = a.Has("steps") ? a.Int("steps", 1, 1) : null,
            LearningRate = a.Float("lr", 2e-4f),
            BatchTokens = a.Int("batch-tokens", 2048, 2),
            GradAccum = a.Int("grad-accum", 1, 1),
            WarmupSteps = a.Int("warmup", 0, 0),
            Schedule = schedule,
            WeightDecay = a.Float("weight-decay", 0),
            Clip = a.Float("clip", 1),
            Seed = a.ULong("seed", 42),
            EvalEvery = a.Int("eval-every", 0, 0),
            CheckpointEvery = a.Int("checkpoint-every", 0, 0),
            GradientCheckpointing = checkpointing,
        };
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"finetune: {e.Message}");
        }
        return options;
    }

    internal static int[] ParseInts(string text, string option) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s =>
            int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v >= 0
                ? v : throw new UsageException($"finetune: --{option} expects comma-separated non-negative integers, got '{s}'.")).ToArray();
}
