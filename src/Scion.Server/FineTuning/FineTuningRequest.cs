using System.Text.Json;
using Scion.Server.Http;
using Scion.Server.Requests;
using Scion.Training.Peft;

namespace Scion.Server.FineTuning;

/// <summary>
/// POST /v1/fine_tuning/jobs: OpenAI's fields (model, training_file, validation_file, suffix, seed, method with
/// supervised hyperparameters, or the older top-level hyperparameters; each "auto" or a number) and Scion's adapter
/// options under "scion": method (lora, pissa, dora), rank, alpha, dropout, rslora, targets, learning_rate,
/// checkpoint_every, seq_len, warmup. Every bad field is a 400 naming it.
/// </summary>
internal sealed record FineTuningRequest(string Model, string TrainingFile, string? ValidationFile, string? Suffix, long Seed, JobSpec Spec)
{
    public const int MaxSuffixLength = 64;

    public static FineTuningRequest Parse(JsonFields f)
    {
        string model = f.String("model") ?? throw ApiError.BadField("model", "model: required (the base model's id, or an adapter to continue training).");
        string training = f.String("training_file") ?? throw ApiError.BadField("training_file", "training_file: required (the id of an uploaded file, file-...).");
        string? validation = f.String("validation_file");
        string? suffix = f.String("suffix");
        if (suffix is not null)
        {
            if (suffix.Length is 0 or > MaxSuffixLength)
                throw ApiError.BadField("suffix", $"suffix: expected 1 to {MaxSuffixLength} characters, got {suffix.Length}.");
            foreach (char c in suffix)
                if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
                    throw ApiError.BadField("suffix", $"suffix: may hold only letters, digits, '-' and '_', not '{c}'.");
        }
        long seed = f.Long("seed") ?? 42;
        if (seed is < 0 or > int.MaxValue) throw ApiError.BadField("seed", $"seed: expected an integer in 0..{int.MaxValue}, got {seed}.");

        var hyper = f.Object("hyperparameters");
        if (f.Object("method") is { } method)
        {
            string type = method.String("type") ?? "supervised";
            if (type != "supervised")
                throw ApiError.BadField("method.type", $"method.type: only \"supervised\" fine-tuning is supported, got \"{type}\".");
            if (method.Object("supervised") is { } supervised && supervised.Object("hyperparameters") is { } h) hyper = h;
        }
        var spec = new JobSpec
        {
            Epochs = hyper is null ? null : AutoOrInt(hyper, "n_epochs", 1, 1000),
            BatchSize = hyper is null ? null : AutoOrInt(hyper, "batch_size", 1, 4096),
            LearningRateMultiplier = hyper is null ? null : AutoOrNumber(hyper, "learning_rate_multiplier", 1e-6, 1000),
        };
        if (f.Object("scion") is { } scion) spec = Scion(scion, spec);
        return new FineTuningRequest(model, training, validation, suffix, seed, spec);
    }

    private static JobSpec Scion(JsonFields s, JobSpec spec)
    {
        string method = s.String("method") ?? "lora";
        if (method is not ("lora" or "pissa" or "dora"))
            throw ApiError.BadField(s.Prefix + "method", $"{s.Prefix}method: expected \"lora\", \"pissa\" or \"dora\", got \"{method}\".");
        string targets = s.String("targets") ?? spec.Targets;
        var peft = new PeftOptions { Targets = PeftOptions.ParseTargets(targets), Rank = s.Int("rank", 1, 4096) ?? spec.Rank };
        try
        {
            peft.Validate();
        }
        catch (ArgumentException e)
        {
            throw ApiError.BadField(s.Prefix + "targets", $"{s.Prefix}targets: {e.Message}");
        }
        return spec with
        {
            Method = method,
            Rank = peft.Rank,
            Alpha = s.Number("alpha", 1e-6, 1e6),
            Dropout = s.Number("dropout", 0, 0.99) ?? 0,
            Rslora = s.Bool("rslora") ?? false,
            Targets = targets,
            LearningRate = s.Number("learning_rate", 1e-9, 1),
            CheckpointEvery = s.Int("checkpoint_every", 1, int.MaxValue),
            SeqLen = s.Int("seq_len", 2, 1 << 24),
            Warmup = s.Int("warmup", 0, 1_000_000) ?? 0,
        };
    }

    private static int? AutoOrInt(JsonFields f, string name, int min, int max) =>
        IsAuto(f, name) ? null : f.Int(name, min, max);

    private static double? AutoOrNumber(JsonFields f, string name, double min, double max) =>
        IsAuto(f, name) ? null : f.Number(name, min, max);

    private static bool IsAuto(JsonFields f, string name)
    {
        var v = f[name];
        if (v is null) return true;
        if (v.GetValueKind() != JsonValueKind.String) return false;
        string s = v.GetValue<string>();
        return s == "auto" ? true : throw ApiError.BadField(f.Prefix + name, $"{f.Prefix}{name}: expected \"auto\" or a number, got \"{s}\".");
    }
}
