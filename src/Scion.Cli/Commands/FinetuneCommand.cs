using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Scion.Cli.CommandLine;
using Scion.Models.Bench;
using Scion.Training.Data;
using Scion.Training.Model;
using Scion.Training.Optim;
using Scion.Training.Peft;
using Scion.Training.Trainer;
using Spectre.Console;

namespace Scion.Cli.Commands;

/// <summary>
/// `scion finetune [--model PATH] --data FILE.jsonl --output DIR [options]`: trains a LoRA / PiSSA / DoRA adapter and
/// writes it to DIR as PEFT files (adapter_config.json, adapter_model.safetensors), with metrics.jsonl and checkpoints.
/// Ctrl-C stops between optimizer steps after writing a checkpoint (exit code 130); --resume DIR continues.
/// </summary>
internal static class FinetuneCommand
{
    public static Command Build()
    {
        var model = new ModelOptions(adapter: false);
        var o = new FinetuneOptions();
        var command = new Command("finetune", "train a LoRA / PiSSA / DoRA adapter on JSONL data");
        model.AddTo(command);
        o.AddTo(command);
        command.Validators.Add(r =>
        {
            if (r.GetResult(o.Epochs) is not null && r.GetResult(o.Steps) is not null) r.AddError("give --epochs or --steps, not both.");
            if (r.GetResult(o.Validation) is not null && r.GetResult(o.ValidationSplit) is not null) r.AddError("give --validation or --validation-split, not both.");
        });
        return command.WithHandler((p, io, cancel) => Run(p, io, cancel, model, o));
    }

    private static int Run(ParseResult p, CliIo io, CancellationToken cancel, ModelOptions model, FinetuneOptions o)
    {
        string data = PathChecks.ExistingFile(p.GetValue(o.Data)!, "--data", "training data");
        string output = p.GetValue(o.Output)!;
        string? resume = p.GetValue(o.Resume) is { } r ? PathChecks.ExistingFolder(r, "--resume", "checkpoint") : null;
        // Resuming into the folder being resumed from is the usual case; anything else must not clobber a folder.
        bool resumesHere = resume is not null && Path.GetFullPath(resume).TrimEnd('/') == Path.GetFullPath(output).TrimEnd('/');
        PathChecks.OutputFolder(output, p.GetValue(o.Force) || resumesHere);
        string? valPath = p.GetValue(o.Validation) is { } v ? PathChecks.ExistingFile(v, "--validation", "validation data") : null;
        string? templateFile = p.GetValue(o.ChatTemplate) is { } t ? PathChecks.ExistingFile(t, "--chat-template", "chat template") : null;
        var peft = o.Peft(p);
        var options = o.Trainer(p);
        string path = model.ModelPath(p, io);

        using var loaded = model.Load(p, io, path);
        int seqLen = TrainingData.SequenceLength(loaded, p.GetValue(o.SeqLen));
        string? template = templateFile is not null ? File.ReadAllText(templateFile) : loaded.ChatTemplate;
        var dataset = TrainingData.Load(data, loaded, template, seqLen, io);
        io.Err.WriteLine($"{data}: {dataset.Examples.Count} examples, {dataset.Tokens} tokens ({dataset.TargetTokens} trained on)" +
                         (dataset.Truncated > 0 ? $", {dataset.Truncated} cut to {seqLen} tokens" : "") +
                         (dataset.Skipped > 0 ? $", {dataset.Skipped} skipped (no target tokens)" : ""));
        List<TrainingExample> train = [.. dataset.Examples];
        List<TrainingExample>? validation = null;
        if (valPath is not null)
            validation = [.. TrainingData.Load(valPath, loaded, template, seqLen, io).Examples];
        else if (p.GetValue(o.ValidationSplit) is { } split)
            (train, validation) = DataOrder.Split(dataset.Examples, split, options.Seed);
        if (validation is not null) io.Err.WriteLine($"validation: {validation.Count} examples");

        var trainingModel = new TrainingModel(loaded.Model);
        var tuner = new FineTuner(trainingModel, peft, options, train, validation, output, Path.GetFileName(Path.TrimEndingDirectorySeparator(loaded.Path)));
        io.Err.WriteLine($"training {peft.Method.ToString().ToLowerInvariant()} rank {peft.Rank} on {trainingModel.Adapters().Count()} projections " +
                         $"({trainingModel.Parameters().Sum(x => (long)x.Length)} parameters) for {tuner.TotalSteps} steps");
        tuner.Progress = io.Err;
        if (resume is not null) tuner.Resume(resume);
        // The denominator of "fraction of peak": the best of short FMA runs on the trainer's own threads (~0.1 s).
        // Early in a process the JIT's background thread can take a core; the summary re-measures after the run.
        tuner.FmaPeakFlops = FmaPeak(trainingModel);
        io.Err.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"fp32 FMA peak {tuner.FmaPeakFlops / 1e9:F0} GFLOP/s on {trainingModel.Pool.ThreadCount} threads; useful work {tuner.Cost.StepFlops(1, 1) / 1e9:F3} GFLOP per trained token"));
        StepMetrics? last = null;
        tuner.StepCompleted += m => last = m;

        var result = io.ErrIsTerminal ? RunLive(tuner, io, cancel) : tuner.Run(cancel);
        double peak = Math.Max(tuner.FmaPeakFlops, FmaPeak(trainingModel));
        var summary = new Dictionary<string, object?>
        {
            ["output"] = output,
            ["steps"] = result.Steps,
            ["interrupted"] = result.Interrupted,
            ["final_loss"] = result.Losses.Count > 0 ? Math.Round(result.Losses[^1], 6) : null,
            ["eval_loss"] = result.FinalEval is { } ev ? Math.Round(ev.Loss, 6) : null,
            ["eval_perplexity"] = result.FinalEval is { } ev2 ? Math.Round(ev2.Perplexity, 6) : null,
            ["checkpoint"] = result.CheckpointDirectory,
            ["tokens_per_s"] = last is null ? null : Math.Round(last.TokensPerSecond, 1),
            ["flops_per_s"] = last is null ? null : Math.Round(last.FlopsPerSecond),
            ["fma_peak_flops"] = Math.Round(peak),
            ["peak_fraction"] = last is null ? null : Math.Round(last.FlopsPerSecond / peak, 4),
        };
        io.Out.WriteLine(JsonSerializer.Serialize(summary, JsonOutput.Options));
        return result.Interrupted ? ExitCodes.Interrupted : ExitCodes.Success;
    }

    private static double FmaPeak(TrainingModel model) =>
        Roofline.MeasureFmaPeak(model.Pool, repetitions: 9, iterationsPerItem: 500_000).Max() * 1e9;

    /// <summary>On a terminal: one live bar whose text is the latest step's loss, learning rate, tokens/s and ETA.</summary>
    private static TrainResult RunLive(FineTuner tuner, CliIo io, CancellationToken cancel)
    {
        var console = CliProgress.Console(io);
        TrainResult result = null!;
        console.Progress().AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("training", maxValue: tuner.TotalSteps);
                task.Value = tuner.Step;
                // Step lines are the bar; other lines (eval, checkpoints) are printed above it.
                tuner.Progress = new LineWriter(line =>
                {
                    if (!line.StartsWith("step ", StringComparison.Ordinal)) console.WriteLine(line);
                });
                tuner.StepCompleted += m =>
                {
                    task.Value = m.Step;
                    task.Description = string.Create(CultureInfo.InvariantCulture,
                        $"step {m.Step}/{m.TotalSteps}  loss {m.Loss:F4}  lr {m.LearningRate:G3}  {m.TokensPerSecond:F0} tok/s  {FineTuner.Speed(m)}  ETA {TimeSpan.FromSeconds(Math.Round(m.EtaSeconds)):c}");
                };
                result = tuner.Run(cancel);
            });
        return result;
    }

    /// <summary>A TextWriter that hands each completed line to a callback.</summary>
    private sealed class LineWriter(Action<string> onLine) : TextWriter
    {
        private readonly System.Text.StringBuilder _line = new();
        public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;

        public override void Write(char value)
        {
            if (value == '\n') { onLine(_line.ToString().TrimEnd('\r')); _line.Clear(); }
            else _line.Append(value);
        }
    }
}
