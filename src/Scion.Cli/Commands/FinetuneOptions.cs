using System.CommandLine;
using System.Globalization;
using Scion.Cli.CommandLine;
using Scion.Training.Optim;
using Scion.Training.Peft;
using Scion.Training.Trainer;

namespace Scion.Cli.Commands;

/// <summary>The options of `scion finetune` beyond the model, and their translation into PEFT and trainer settings.</summary>
internal sealed class FinetuneOptions
{
    public Option<string> Data { get; } = Opt.RequiredText("--data", "JSONL training data: {\"text\"}, {\"prompt\", \"completion\"} or {\"messages\"} per line", "FILE");
    public Option<string> Output { get; } = Opt.RequiredText("--output", "adapter folder to write (PEFT layout, metrics.jsonl, checkpoints)", "DIR", "-o");
    public Option<bool> Force { get; } = Opt.Flag("--force", "write into an --output folder that already has files");
    public Option<string> Method { get; } = Opt.Choice("--method", "lora", "adapter kind", "lora", "pissa", "dora");
    public Option<int> Rank { get; } = Opt.Int("--rank", 8, "adapter rank r", 1, 65536);
    public Option<float?> Alpha { get; } = Opt.OptionalFloat("--alpha", "LoRA alpha (default: 2 x rank)", 0);
    public Option<float> Dropout { get; } = Opt.Float("--dropout", 0, "dropout on the adapter input", 0, 0.99f);
    public Option<bool> Rslora { get; } = Opt.Flag("--rslora", "rank-stabilized scaling alpha/sqrt(r) instead of alpha/r");
    public Option<string> Targets { get; } = new("--targets") { Description = "projections to adapt: comma-separated names (q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj) or all-linear", DefaultValueFactory = _ => "q_proj,v_proj", HelpName = "LIST" };
    public Option<string?> Layers { get; } = Opt.Text("--layers", "comma-separated layer indices to adapt (default: all)", "LIST");
    public Option<int?> Epochs { get; } = Opt.OptionalInt("--epochs", "passes over the data (default: 1 unless --steps)", 1);
    public Option<int?> Steps { get; } = Opt.OptionalInt("--steps", "optimizer steps to run instead of whole epochs", 1);
    public Option<float> Lr { get; } = Opt.Float("--lr", 2e-4f, "peak learning rate", 0, 10);
    public Option<int> BatchTokens { get; } = Opt.Int("--batch-tokens", 2048, "tokens per micro-batch", 2);
    public Option<int?> SeqLen { get; } = Opt.OptionalInt("--seq-len", "longest example in tokens; longer ones are cut (default: the model's context length)", 2, 1 << 24);
    public Option<int> GradAccum { get; } = Opt.Int("--grad-accum", 1, "micro-batches per optimizer step", 1);
    public Option<int> Warmup { get; } = Opt.Int("--warmup", 0, "linear warm-up steps");
    public Option<string> Schedule { get; } = Opt.Choice("--schedule", "cosine", "learning-rate decay after warm-up", "cosine", "linear", "constant");
    public Option<float> WeightDecay { get; } = Opt.Float("--weight-decay", 0, "AdamW weight decay", 0, 10);
    public Option<float> Clip { get; } = Opt.Float("--clip", 1, "clip the gradient norm to this; 0 = off", 0);
    public Option<ulong> Seed { get; } = Opt.ULong("--seed", 42, "seed of initialization, dropout and data order", "-s");
    public Option<string?> Resume { get; } = Opt.Text("--resume", "continue from this run folder's latest checkpoint (bit-identical)", "DIR");
    public Option<string?> Validation { get; } = Opt.Text("--validation", "JSONL validation data", "FILE");
    public Option<float?> ValidationSplit { get; } = Opt.OptionalFloat("--validation-split", "hold out this fraction of --data for validation", 0, 0.9f);
    public Option<int> EvalEvery { get; } = Opt.Int("--eval-every", 0, "validate every N steps; 0 = only at the end");
    public Option<int> CheckpointEvery { get; } = Opt.Int("--checkpoint-every", 0, "write a checkpoint every N steps; 0 = only when interrupted");
    public Option<string> Checkpointing { get; } = Opt.Choice("--checkpointing", "off", "gradient checkpointing (recompute activations to save memory)", "on", "off");
    public Option<string?> ChatTemplate { get; } = Opt.Text("--chat-template", "chat template file for {\"messages\"} data (default: the model's own)", "FILE");

    public void AddTo(Command command) => command.With(Data, Output, Force, Method, Rank, Alpha, Dropout, Rslora, Targets, Layers, Epochs, Steps,
        Lr, BatchTokens, SeqLen, GradAccum, Warmup, Schedule, WeightDecay, Clip, Seed, Resume, Validation, ValidationSplit, EvalEvery,
        CheckpointEvery, Checkpointing, ChatTemplate);

    public PeftOptions Peft(ParseResult p)
    {
        var method = p.GetValue(Method) switch
        {
            "pissa" => PeftMethod.Pissa,
            "dora" => PeftMethod.Dora,
            _ => PeftMethod.Lora,
        };
        int rank = p.GetValue(Rank);
        var peft = new PeftOptions
        {
            Method = method,
            Rank = rank,
            Alpha = p.GetValue(Alpha) ?? 2 * rank,
            Dropout = p.GetValue(Dropout),
            UseRslora = p.GetValue(Rslora),
            Targets = Usage(() => PeftOptions.ParseTargets(p.GetValue(Targets)!)),
            Layers = p.GetValue(Layers) is { } l ? ParseInts(l, "--layers") : null,
        };
        Usage(() => { peft.Validate(); return 0; });
        return peft;
    }

    public TrainerOptions Trainer(ParseResult p)
    {
        var options = new TrainerOptions
        {
            Epochs = p.GetValue(Epochs) ?? 1,
            Steps = p.GetValue(Steps),
            LearningRate = p.GetValue(Lr),
            BatchTokens = p.GetValue(BatchTokens),
            GradAccum = p.GetValue(GradAccum),
            WarmupSteps = p.GetValue(Warmup),
            Schedule = p.GetValue(Schedule) switch { "linear" => LrDecay.Linear, "constant" => LrDecay.Constant, _ => LrDecay.Cosine },
            WeightDecay = p.GetValue(WeightDecay),
            Clip = p.GetValue(Clip),
            Seed = p.GetValue(Seed),
            EvalEvery = p.GetValue(EvalEvery),
            CheckpointEvery = p.GetValue(CheckpointEvery),
            GradientCheckpointing = p.GetValue(Checkpointing) == "on",
        };
        Usage(() => { options.Validate(); return 0; });
        return options;
    }

    /// <summary>Library argument checks on option values are usage errors (exit code 2), not runtime failures.</summary>
    private static T Usage<T>(Func<T> f)
    {
        try
        {
            return f();
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"finetune: {e.Message}");
        }
    }

    internal static int[] ParseInts(string text, string option) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s =>
            int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v >= 0
                ? v : throw new UsageException($"finetune: {option} expects comma-separated non-negative integers, got '{s}'.")).ToArray();
}
