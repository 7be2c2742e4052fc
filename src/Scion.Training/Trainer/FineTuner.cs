using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Scion.Models.Adapters;
using Scion.Models.Formats;
using Scion.Training.Autograd;
using Scion.Training.Data;
using Scion.Training.Model;
using Scion.Training.Optim;
using Scion.Training.Peft;

namespace Scion.Training.Trainer;

/// <summary>
/// Runs parameter-efficient fine-tuning: AdamW with decoupled weight decay, warmup then cosine/linear decay,
/// gradient accumulation (the step's loss is the token mean over all its micro-batches), global-norm clipping,
/// periodic evaluation and checkpoints. A checkpoint holds the adapter, optimizer state, RNG state and data
/// position, so <see cref="Resume"/> continues bit-identically. Cancellation stops between optimizer steps
/// and writes a checkpoint first.
/// </summary>
public sealed class FineTuner
{
    public const string StateFile = "trainer_state.bin";
    public const string StateJsonFile = "trainer_state.json";
    public const string MetricsFile = "metrics.jsonl";
    public const string CheckpointPrefix = "checkpoint-";

    // Tapes that held at least this many floats (128 MiB) are collected right after their backward.
    private const long LargeTapeFloats = 32L << 20;

    private readonly TrainingModel _model;
    private readonly IReadOnlyList<TrainingExample> _train;
    private readonly IReadOnlyList<TrainingExample>? _validation;
    private readonly DataOrder _order;
    private readonly IReadOnlyList<Tensor> _parameters;
    private readonly AdamW _optimizer;
    private readonly Xoshiro256 _rng; // dropout masks
    private readonly LrSchedule _schedule;
    private readonly List<double> _losses = [];
    private long _step;
    private DataPosition _position;
    private bool _fresh = true; // until Resume: a run from step 0

    public FineTuner(TrainingModel model, PeftOptions peft, TrainerOptions options, IReadOnlyList<TrainingExample> train,
        IReadOnlyList<TrainingExample>? validation, string outputDirectory, string? baseModelName = null, PeftAdapter? startFrom = null)
    {
        options.Validate();
        peft.Validate();
        _model = model;
        Peft = peft;
        Options = options;
        _train = train;
        _validation = validation is { Count: > 0 } ? validation : null;
        OutputDirectory = outputDirectory;
        BaseModelName = baseModelName;
        model.Checkpointing = options.GradientCheckpointing;
        // Continuing an adapter starts from its weights; peft must describe it (PeftOptionsOf) so the export matches.
        if (startFrom is null) AdapterFactory.Initialize(model, peft, options.Seed);
        else AdapterFactory.Load(model, startFrom, trainable: true);
        _parameters = model.Parameters();
        Cost = new TrainingCost(model);
        _optimizer = new AdamW(_parameters, new AdamWOptions { WeightDecay = options.WeightDecay }) { Pool = model.Pool };
        _rng = new Xoshiro256(options.Seed ^ 0x9E3779B97F4A7C15UL);
        _order = new DataOrder(train, options.BatchTokens, options.Seed);
        TotalSteps = options.Steps ?? StepsForEpochs();
        _schedule = new LrSchedule(options.LearningRate, options.WarmupSteps, TotalSteps, options.Schedule);
    }

    /// <summary>The options that describe a saved adapter, for continuing its training (<c>startFrom</c>); refuses
    /// what a continued run could not write back the same way (per-module rank or alpha patterns).</summary>
    public static PeftOptions PeftOptionsOf(PeftAdapter adapter)
    {
        var c = adapter.Config;
        if (c.RankPattern.Count > 0 || c.AlphaPattern.Count > 0)
            throw new ArgumentException($"{adapter.Directory}: an adapter with rank_pattern or alpha_pattern cannot be trained further here.");
        return new PeftOptions
        {
            Method = c.UseDora ? PeftMethod.Dora : PeftMethod.Lora, Rank = c.R, Alpha = c.LoraAlpha, UseRslora = c.UseRslora,
            Targets = [.. adapter.Pairs.Select(p => p.Module).Distinct().OrderBy(m => LoraModules.All.ToList().IndexOf(m))],
            Layers = c.LayersToTransform,
        };
    }

    public PeftOptions Peft { get; }
    public TrainerOptions Options { get; }
    public string OutputDirectory { get; }
    public string? BaseModelName { get; }
    public int TotalSteps { get; }
    public long Step => _step;
    public IReadOnlyList<double> Losses => _losses;

    /// <summary>Progress lines (stderr in the CLI); null for none.</summary>
    public TextWriter? Progress { get; set; }

    /// <summary>The machine's fp32 FMA peak in FLOP/s for the model's threads (measured by the caller); 0 when unknown.
    /// Step metrics then carry the fraction of it that the run's useful FLOP/s reach.</summary>
    public double FmaPeakFlops { get; set; }

    /// <summary>The useful work a step does (<see cref="TrainingCost"/>), from the model with its adapters installed.</summary>
    public TrainingCost Cost { get; }

    /// <summary>Called after every optimizer step (tests use it to interrupt a run at a given step).</summary>
    public event Action<StepMetrics>? StepCompleted;

    private int StepsForEpochs()
    {
        long batches = 0;
        for (int e = 0; e < Options.Epochs; e++) batches += _order.BatchesInEpoch(e);
        return (int)Math.Max(1, (batches + Options.GradAccum - 1) / Options.GradAccum);
    }

    private bool DataExhausted => Options.Steps is null && _position.Epoch >= Options.Epochs;

    /// <summary>Called after every evaluation with the step it followed.</summary>
    public event Action<long, EvalResult>? Evaluated;

    /// <summary>Called after every checkpoint is written, with its step and folder.</summary>
    public event Action<long, string>? CheckpointSaved;

    /// <summary>How the run ended, once it has (by <see cref="Run"/> or the last <see cref="RunFor"/>).</summary>
    public TrainResult? Result { get; private set; }

    private IEnumerator<TrainPause>? _work;
    private string? _lastCheckpoint;

    public TrainResult Run(CancellationToken cancel = default)
    {
        if (cancel.IsCancellationRequested) return Interrupt();
        _work ??= Work().GetEnumerator();
        while (_work.MoveNext())
            if (_work.Current == TrainPause.Step && cancel.IsCancellationRequested && _step < TotalSteps && !DataExhausted) return Interrupt();
        return Result!;
    }

    /// <summary>
    /// Trains for about <paramref name="budget"/> and returns: true once the run has finished (the adapter is written
    /// and <see cref="Result"/> set). The budget is checked between ops (one transformer block forward, one op's
    /// backward), so a slice overruns it by at most one op. Slices compute exactly what <see cref="Run"/> computes,
    /// in the same order: how a run is cut into slices never changes its result.
    /// </summary>
    public bool RunFor(TimeSpan budget)
    {
        if (Result is not null) return true;
        _work ??= Work().GetEnumerator();
        long start = Stopwatch.GetTimestamp();
        while (_work.MoveNext())
            if (Stopwatch.GetElapsedTime(start) >= budget) return Result is not null;
        return true;
    }

    private TrainResult Interrupt()
    {
        string checkpoint = SaveCheckpoint();
        Progress?.WriteLine($"interrupted at step {_step}; checkpoint written to {checkpoint}");
        return new TrainResult((int)_step, true, _losses, null, checkpoint);
    }

    private enum TrainPause { Op, Step }

    /// <summary>The whole run as a sequence of pauses: between ops (<see cref="TrainPause.Op"/>) and after each optimizer step.</summary>
    private IEnumerable<TrainPause> Work()
    {
        Directory.CreateDirectory(OutputDirectory);
        if (_fresh) File.Delete(Path.Combine(OutputDirectory, MetricsFile)); // a new run into a reused (--force) folder starts a new log
        var clock = Stopwatch.StartNew();
        long startStep = _step, tokensSeen = 0;
        double flopsDone = 0;
        while (_step < TotalSteps && !DataExhausted)
        {
            var step = new StepWork();
            foreach (var pause in TrainStep(step)) yield return pause;
            var (loss, gradNorm, tokens, lr) = (step.Loss, step.GradNorm, step.Tokens, step.Lr);
            tokensSeen += tokens;
            flopsDone += step.Flops;
            double elapsed = clock.Elapsed.TotalSeconds;
            double perStep = elapsed / (_step - startStep);
            double flopsPerSecond = flopsDone / Math.Max(elapsed, 1e-9);
            var metrics = new StepMetrics((int)_step, TotalSteps, _position.Epoch, loss, lr, gradNorm, tokens,
                tokensSeen / Math.Max(elapsed, 1e-9), elapsed, perStep * (TotalSteps - _step))
            {
                FlopsPerSecond = flopsPerSecond,
                PeakFraction = FmaPeakFlops > 0 ? flopsPerSecond / FmaPeakFlops : null,
            };
            AppendMetrics(metrics);
            Progress?.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"step {_step}/{TotalSteps}  epoch {_position.Epoch}  loss {loss:F4}  lr {lr:G3}  grad {gradNorm:F3}  {metrics.TokensPerSecond:F0} tok/s  {Speed(metrics)}  ETA {TimeSpan.FromSeconds(Math.Round(metrics.EtaSeconds)):c}"));
            if (Options.EvalEvery > 0 && _step % Options.EvalEvery == 0 && _validation is not null && _step < TotalSteps) LogEval();
            if (Options.CheckpointEvery > 0 && _step % Options.CheckpointEvery == 0 && _step < TotalSteps) SaveCheckpoint();
            StepCompleted?.Invoke(metrics);
            yield return TrainPause.Step;
        }
        var finalEval = _validation is not null ? LogEval() : null;
        AdapterExport.Save(OutputDirectory, _model, Peft, BaseModelName);
        Result = new TrainResult((int)_step, false, _losses, finalEval, _lastCheckpoint);
    }

    /// <summary>"118 GFLOP/s (0.51 of peak)": useful FLOP/s since the run started, and its share of the FMA peak when known.</summary>
    public static string Speed(StepMetrics m) => string.Create(CultureInfo.InvariantCulture,
        $"{m.FlopsPerSecond / 1e9:F1} GFLOP/s") + (m.PeakFraction is { } f ? string.Create(CultureInfo.InvariantCulture, $" ({(f >= 0.1 ? f.ToString("F2", CultureInfo.InvariantCulture) : f.ToString("F4", CultureInfo.InvariantCulture))} of peak)") : "");

    private sealed class StepWork
    {
        public double Loss, GradNorm;
        public int Tokens;
        public double Flops; // useful work of the micro-batches that ran (those without targets are skipped)
        public float Lr;
    }

    private IEnumerable<TrainPause> TrainStep(StepWork result)
    {
        var batches = new List<TrainingBatch>();
        for (int i = 0; i < Options.GradAccum && !DataExhausted; i++)
        {
            (var batch, _position) = _order.Next(_position);
            batches.Add(batch);
        }
        long targets = batches.Sum(b => (long)b.TargetCount);
        _optimizer.ZeroGrad();
        double lossSum = 0;
        foreach (var batch in batches)
        {
            int n = batch.TargetCount;
            if (n == 0) continue;
            result.Flops += Cost.StepFlops(batch.Tokens, n);
            var tape = new Tape(_rng) { Training = true, Pool = _model.Pool };
            Tensor? loss = null;
            foreach (var t in _model.LossSteps(tape, batch.Ids, batch.Positions, batch.SequenceIds, batch.Targets))
            {
                if (t is null) yield return TrainPause.Op;
                else loss = t;
            }
            lossSum += (double)loss!.Data[0] * n;
            // Seed n/N: the accumulated gradient is that of the token-mean loss over the whole step.
            foreach (var _ in tape.BackwardSteps(loss, (float)((double)n / targets))) yield return TrainPause.Op;
            // A micro-batch leaves its activations and gradients (hundreds of MiB on a 100M model) as large-object
            // garbage that a gen2 collection would otherwise only reclaim after several steps' worth piled up:
            // collecting here cut peak RSS from 2.65 to 1.57 GiB on the 100M model for a few ms per multi-second step.
            if (tape.PeakLiveFloats >= LargeTapeFloats) GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: false);
        }
        foreach (var p in _parameters) p.EnsureGrad(); // a step without targets still steps every moment consistently
        double gradNorm = Options.Clip > 0 ? GradientClipping.ClipGlobalNorm(_parameters, Options.Clip) : GradientClipping.GlobalNorm(_parameters);
        float lr = _schedule.At(_step);
        _optimizer.Step(lr);
        _step++;
        double stepLoss = targets == 0 ? double.NaN : lossSum / targets;
        _losses.Add(stepLoss);
        result.Loss = stepLoss;
        result.GradNorm = gradNorm;
        result.Tokens = batches.Sum(b => b.Tokens);
        result.Lr = lr;
    }

    public EvalResult? Evaluate() => _validation is null ? null : Evaluator.Evaluate(_model, _validation, Options.BatchTokens);

    private EvalResult LogEval()
    {
        var r = Evaluator.Evaluate(_model, _validation!, Options.BatchTokens);
        Progress?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"eval at step {_step}: loss {r.Loss:F4}  perplexity {r.Perplexity:F3}  ({r.Tokens} tokens)"));
        Evaluated?.Invoke(_step, r);
        AppendLine(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["step"] = _step, ["eval_loss"] = Round(r.Loss), ["eval_perplexity"] = Round(r.Perplexity), ["eval_tokens"] = r.Tokens,
        }));
        return r;
    }

    private static double Round(double v) => double.IsFinite(v) ? Math.Round(v, 6) : v;

    private void AppendMetrics(StepMetrics m)
    {
        var line = new Dictionary<string, object>
        {
            ["step"] = m.Step, ["epoch"] = m.Epoch, ["loss"] = Round(m.Loss), ["lr"] = m.LearningRate, ["grad_norm"] = Round(m.GradNorm),
            ["tokens"] = m.Tokens, ["tokens_per_s"] = Math.Round(m.TokensPerSecond, 1), ["elapsed_s"] = Math.Round(m.ElapsedSeconds, 3),
            ["flops_per_s"] = Math.Round(m.FlopsPerSecond),
        };
        if (m.PeakFraction is { } f) line["peak_fraction"] = Math.Round(f, 4);
        AppendLine(JsonSerializer.Serialize(line));
    }

    // The metrics log is append-only (a log, not state); resume trims it back to the checkpoint's step.
    private void AppendLine(string line) => File.AppendAllText(Path.Combine(OutputDirectory, MetricsFile), line + "\n");

    /// <summary>
    /// Writes checkpoint-STEP/ (trainer state, its JSON description, and the adapter as PEFT files) into a temporary
    /// folder renamed into place, then removes older checkpoints: a crash leaves the previous checkpoint intact, and the
    /// half-written folders a killed run left (of any step) are swept before the next one is written.
    /// </summary>
    public string SaveCheckpoint()
    {
        Directory.CreateDirectory(OutputDirectory);
        string final = Path.Combine(OutputDirectory, $"{CheckpointPrefix}{_step}");
        AtomicFolder.DeleteStaleTemporaries(OutputDirectory, name => CheckpointStep(name) is not null);
        AtomicFolder.Write(final, temp =>
        {
            AtomicFile.Write(Path.Combine(temp, StateFile), s => TrainerState.Write(s, _step, _position, _rng, _parameters, _optimizer));
            byte[] json = Encoding.UTF8.GetBytes(Fingerprint(includeProgress: true));
            AtomicFile.Write(Path.Combine(temp, StateJsonFile), s => s.Write(json));
            AdapterExport.Save(temp, _model, Peft, BaseModelName);
        }, ExistingFolder.Replace);
        foreach (var old in Directory.GetDirectories(OutputDirectory, CheckpointPrefix + "*"))
            if (old != final && CheckpointStep(old) is { } s && s < _step) Directory.Delete(old, recursive: true);
        _lastCheckpoint = final;
        CheckpointSaved?.Invoke(_step, final);
        return final;
    }

    /// <summary>Restores a checkpoint written by a run with the same options and data (checked); <paramref name="path"/> is a checkpoint folder or an output folder holding checkpoint-N folders (the latest is used).</summary>
    public void Resume(string path)
    {
        string dir = FindCheckpoint(path);
        CheckFingerprint(Path.Combine(dir, StateJsonFile), dir);
        (_step, _position) = TrainerState.Read(Path.Combine(dir, StateFile), _rng, _parameters, _optimizer);
        _losses.Clear();
        _fresh = false;
        TrimMetrics();
        Progress?.WriteLine($"resumed from {dir} at step {_step} (epoch {_position.Epoch}, example {_position.Cursor})");
    }

    public static string FindCheckpoint(string path)
    {
        if (File.Exists(Path.Combine(path, StateFile))) return path;
        if (!Directory.Exists(path)) throw new DirectoryNotFoundException($"Checkpoint folder '{path}' does not exist.");
        var latest = Directory.GetDirectories(path, CheckpointPrefix + "*")
            .Where(d => File.Exists(Path.Combine(d, StateFile)) && CheckpointStep(d) is not null)
            .OrderByDescending(d => CheckpointStep(d)).FirstOrDefault();
        return latest ?? throw new InvalidDataException($"{path}: no {StateFile} and no {CheckpointPrefix}N folder holding one.");
    }

    private static long? CheckpointStep(string dir)
    {
        string name = Path.GetFileName(dir);
        return name.StartsWith(CheckpointPrefix, StringComparison.Ordinal)
            && long.TryParse(name.AsSpan(CheckpointPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out long s) ? s : null;
    }

    private void TrimMetrics()
    {
        string path = Path.Combine(OutputDirectory, MetricsFile);
        if (!File.Exists(path)) return;
        var kept = File.ReadAllLines(path).Where(l =>
        {
            try
            {
                using var doc = JsonDocument.Parse(l);
                return doc.RootElement.GetProperty("step").GetInt64() <= _step;
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                return false;
            }
        }).ToArray();
        byte[] bytes = Encoding.UTF8.GetBytes(string.Concat(kept.Select(l => l + "\n")));
        AtomicFile.Write(path, s => s.Write(bytes));
    }

    /// <summary>The options and data a resume must match, as JSON (plus progress for humans when asked).</summary>
    private string Fingerprint(bool includeProgress)
    {
        var d = new Dictionary<string, object?>
        {
            ["method"] = Peft.Method.ToString().ToLowerInvariant(), ["rank"] = Peft.Rank, ["alpha"] = Peft.Alpha, ["dropout"] = Peft.Dropout,
            ["rslora"] = Peft.UseRslora, ["targets"] = Peft.Targets is null ? "all-linear" : string.Join(",", Peft.Targets),
            ["layers"] = Peft.Layers is null ? null : string.Join(",", Peft.Layers),
            ["seed"] = Options.Seed.ToString(CultureInfo.InvariantCulture), ["lr"] = Options.LearningRate, ["batch_tokens"] = Options.BatchTokens,
            ["grad_accum"] = Options.GradAccum, ["warmup"] = Options.WarmupSteps, ["schedule"] = Options.Schedule.ToString().ToLowerInvariant(),
            ["weight_decay"] = Options.WeightDecay, ["clip"] = Options.Clip, ["total_steps"] = TotalSteps,
            ["train_examples"] = _train.Count, ["train_tokens"] = _train.Sum(e => (long)e.Length), ["data_hash"] = DataHash(),
        };
        if (includeProgress)
        {
            d["step"] = _step;
            d["epoch"] = _position.Epoch;
            d["cursor"] = _position.Cursor;
        }
        return JsonSerializer.Serialize(d, new JsonSerializerOptions { WriteIndented = true });
    }

    private void CheckFingerprint(string jsonPath, string dir)
    {
        if (!File.Exists(jsonPath))
            throw new InvalidDataException($"{jsonPath}: missing; the checkpoint is incomplete ({StateFile} is there without its description).");
        string json = File.ReadAllText(jsonPath);
        JsonDocument parsed;
        try
        {
            parsed = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            string what = string.IsNullOrWhiteSpace(json) ? "the file is empty" : $"not valid JSON at line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}";
            throw new InvalidDataException($"{jsonPath}: {what}; the checkpoint is damaged (expected the JSON object of options and data it was written with).", e);
        }
        using var saved = parsed;
        if (saved.RootElement.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{jsonPath}: expected a JSON object of the options and data the checkpoint was written with, found {JsonLineError.Kind(saved.RootElement.ValueKind)}.");
        using var mine = JsonDocument.Parse(Fingerprint(includeProgress: false));
        foreach (var p in mine.RootElement.EnumerateObject())
        {
            string now = p.Value.GetRawText();
            string then = saved.RootElement.TryGetProperty(p.Name, out var v) ? v.GetRawText() : "(missing)";
            if (now != then)
                throw new InvalidDataException($"{dir}: cannot resume: '{p.Name}' was {then} in the checkpoint but is {now} now; resume with the same options and data.");
        }
    }

    private string DataHash()
    {
        ulong h = 0xCBF29CE484222325UL; // FNV-1a over every token and target
        foreach (var e in _train)
        {
            foreach (int t in e.Tokens) h = (h ^ (uint)t) * 0x100000001B3UL;
            foreach (int t in e.Targets) h = (h ^ (uint)t) * 0x100000001B3UL;
        }
        return h.ToString("x16", CultureInfo.InvariantCulture);
    }
}
