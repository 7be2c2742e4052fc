using System.Globalization;
using System.Text.Json;
using Scion.Models.Adapters;
using Scion.Models.Llama;
using Scion.Serving.Jobs;
using Scion.Server.Http;
using Scion.Training.Data;
using Scion.Training.Model;
using Scion.Training.Peft;
using Scion.Training.Trainer;

namespace Scion.Server.FineTuning;

public sealed partial class FineTuningService
{
    /// <summary>A job that cannot run: the error the client sees on it.</summary>
    private sealed class JobFailure(JobError error) : Exception(error.Message)
    {
        public JobError Error { get; } = error;
    }

    /// <summary>Validation reads and tokenizes the files: off the engine thread and off the request.</summary>
    private void Start(StoredJob job) => _ = Task.Run(() => Prepare(job));

    private void Prepare(StoredJob job)
    {
        try
        {
            var spec = JobSpec.FromJson(job.Spec);
            int seqLen = Math.Min(spec.SeqLen ?? _config.ContextLength, _config.ContextLength);
            var train = LoadData(job.TrainingFile, "training_file", seqLen);
            var validation = job.ValidationFile is { } v ? LoadData(v, "validation_file", seqLen) : null;
            var resolved = spec.Resolved ?? AutoHyperparameters.Resolve(spec, _config, train, validation?.Count ?? 0, (ulong)job.Seed);
            spec = spec with { Resolved = resolved };
            bool wasValidating = job.Status == JobStatus.ValidatingFiles;
            job = Update(job.Id, j => JobStatus.IsFinal(j.Status) ? j
                : j with { Status = j.Status == JobStatus.ValidatingFiles ? JobStatus.Queued : j.Status, Spec = spec.ToJson() });
            if (JobStatus.IsFinal(job.Status)) return; // cancelled while validating
            if (wasValidating)
            {
                Event(job.Id, string.Create(CultureInfo.InvariantCulture,
                    $"Files validated: {train.Count} training examples{(validation is null ? "" : $", {validation.Count} validation examples")}; " +
                    $"{resolved.Epochs} epochs, batch size {resolved.BatchSize}, learning rate {resolved.LearningRate:G3}."));
                Event(job.Id, "Job queued.");
            }
            var run = new JobRun(this, job, spec, train, validation);
            var training = new TrainingJob(job.Id, run.CreateTuner, run);
            _active[job.Id] = training;
            // A cancel that came between the update above and registering here would not have found the job.
            if (JobStatus.IsFinal(GetJob(job.Id).Status))
            {
                _active.TryRemove(job.Id, out _);
                return;
            }
            _queue.Enqueue(training);
            _log?.Invoke($"job {job.Id}: queued ({train.Count} examples, {resolved.Epochs} epochs)");
        }
        catch (JobFailure f)
        {
            Fail(job.Id, f.Error);
        }
        catch (Exception e) when (!_disposed)
        {
            Fail(job.Id, new JobError("internal_error", $"Preparing the job failed: {e.Message}", null));
        }
    }

    /// <summary>Reads an uploaded file the way a job would (same forms, same tokenizer and chat template, cut at the
    /// model's context), for the console's check after an upload: the counts, or a 400 naming the file and line.</summary>
    public FileCheck CheckFile(string id)
    {
        GetFile(id); // 404 for an unknown id
        try
        {
            var examples = LoadData(id, "file", _config.ContextLength);
            return new FileCheck(id, examples.Count, examples.Sum(e => (long)e.Length), examples.Sum(e => (long)e.TargetCount));
        }
        catch (JobFailure f)
        {
            throw new ApiError(400, f.Error.Message, "file", "invalid_file");
        }
    }

    /// <summary>The trainer's JSONL reader, with its messages naming the file by id instead of our storage path.</summary>
    private List<TrainingExample> LoadData(string fileId, string field, int seqLen)
    {
        string code = field == "training_file" ? "invalid_training_file" : "invalid_validation_file";
        var file = Store.GetFile(fileId) ?? throw new JobFailure(new JobError(code, $"{field} {fileId}: the file no longer exists.", field));
        string path = _data.FilePath(file.Path);
        try
        {
            var dataset = JsonlDataset.Load(path, _tokenizer, _chatTemplate, seqLen);
            return [.. dataset.Examples];
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException or IOException or FormatException)
        {
            // "PATH:LINE: ..." → "training_file file-... (name) line LINE: ...": never our storage path.
            string named = $"{field} {fileId} ({file.Filename})";
            string message = System.Text.RegularExpressions.Regex.Replace(e.Message, System.Text.RegularExpressions.Regex.Escape(path) + ":([0-9]+)", m => $"{named} line {m.Groups[1].Value}")
                .Replace(path, named, StringComparison.Ordinal);
            throw new JobFailure(new JobError(code, message, field));
        }
    }

    /// <summary>
    /// After a restart: re-registers finished adapters and kept checkpoints, and takes up every unfinished job —
    /// validating and queued ones from the start, running ones from their last checkpoint on disk.
    /// </summary>
    private void Recover()
    {
        var store = Store;
        foreach (var job in store.JobsWithStatus(JobStatus.Succeeded))
            if (job.FineTunedModel is { } name) TryRegister(name, _data.AdapterFolder(job.Id));
        foreach (var job in store.JobsWithStatus(JobStatus.Running, JobStatus.Succeeded, JobStatus.Failed, JobStatus.Cancelled))
            foreach (var c in store.ListCheckpoints(job.Id, null, KeptCheckpoints).Items)
                TryRegister(c.Model, _data.FilePath(c.Path));
        foreach (var job in store.JobsWithStatus(JobStatus.ValidatingFiles, JobStatus.Queued, JobStatus.Running))
        {
            _log?.Invoke($"job {job.Id}: taken up again after a restart ({job.Status})");
            Start(job);
        }
    }

    private void TryRegister(string name, string folder)
    {
        if (!Directory.Exists(folder) || _adapters.Find(name) is not null) return;
        try
        {
            _adapters.RegisterFolder(name, folder);
        }
        catch (Exception e) when (e is Serving.Adapters.AdapterException or IOException)
        {
            _log?.Invoke($"adapter {name}: not registered: {e.Message}");
        }
    }

    /// <summary>One job's run on the engine: builds its tuner and turns the tuner's events into job state.</summary>
    private sealed class JobRun(FineTuningService service, StoredJob job, JobSpec spec, List<TrainingExample> train, List<TrainingExample>? validation)
        : ITrainingJobListener
    {
        private readonly string _modelName = service.ModelName(job);
        private long _resumedAt = -1;
        private long _trainedTokens;
        private double? _lastLoss, _lastValidLoss;

        private string WorkFolder => service._data.JobFolder(job.Id);

        /// <summary>On the engine thread: the tuner over the served model, resumed when the run folder holds a checkpoint.</summary>
        public FineTuner CreateTuner(LlamaModel model)
        {
            var r = spec.Resolved!;
            PeftAdapter? start = null;
            PeftOptions peft;
            if (spec.ContinueFrom is { } from)
            {
                var info = service._adapters.Find(from) ?? throw new JobFailure(new JobError("model_not_found", $"The adapter '{from}' is no longer registered.", "model"));
                start = PeftAdapterFiles.Load(info.Folder);
                peft = FineTuner.PeftOptionsOf(start);
            }
            else
            {
                peft = new PeftOptions
                {
                    Method = spec.Method switch { "pissa" => PeftMethod.Pissa, "dora" => PeftMethod.Dora, _ => PeftMethod.Lora },
                    Rank = spec.Rank, Alpha = spec.Alpha ?? 2.0 * spec.Rank, Dropout = (float)spec.Dropout, UseRslora = spec.Rslora,
                    Targets = PeftOptions.ParseTargets(spec.Targets),
                };
            }
            var options = new TrainerOptions
            {
                Epochs = r.Epochs, LearningRate = (float)r.LearningRate, BatchTokens = r.BatchTokens, WarmupSteps = spec.Warmup,
                Seed = (ulong)job.Seed, CheckpointEvery = r.CheckpointEvery, EvalEvery = validation is null ? 0 : r.CheckpointEvery,
            };
            var tuner = new FineTuner(new TrainingModel(model), peft, options, train, validation, WorkFolder, service._baseId, start);
            if (HasCheckpoint(WorkFolder))
            {
                tuner.Resume(WorkFolder);
                _resumedAt = tuner.Step;
            }
            return tuner;
        }

        private static bool HasCheckpoint(string folder)
        {
            try
            {
                FineTuner.FindCheckpoint(folder);
                return true;
            }
            catch (Exception e) when (e is DirectoryNotFoundException or InvalidDataException)
            {
                return false;
            }
        }

        public void Started(TrainingJob training, FineTuner tuner)
        {
            var store = service.Store;
            if (_resumedAt >= 0)
            {
                store.DeleteEventsAfterStep(job.Id, _resumedAt);
                store.DeleteCheckpointsAfterStep(job.Id, _resumedAt);
                _trainedTokens = store.ListCheckpoints(job.Id, null, 1).Items.FirstOrDefault()?.TrainedTokens ?? 0;
            }
            service.Update(job.Id, j => JobStatus.IsFinal(j.Status) ? j : j with { Status = JobStatus.Running, TrainedTokens = _trainedTokens });
            string what = _resumedAt >= 0 ? $"Fine-tuning resumed from the checkpoint at step {_resumedAt}" : "Fine-tuning job started";
            service.Event(job.Id, $"{what}: {tuner.TotalSteps} steps.");
            service._log?.Invoke($"job {job.Id}: {what.ToLowerInvariant()} ({tuner.TotalSteps} steps)");
            tuner.StepCompleted += Step;
            tuner.Evaluated += (step, e) =>
            {
                _lastValidLoss = e.Loss;
                service.Event(job.Id, string.Create(CultureInfo.InvariantCulture, $"Step {step}: validation loss={e.Loss:F4}"), "metrics",
                    Metrics(step, tuner.TotalSteps, null, e.Loss, null, null), step);
            };
            tuner.CheckpointSaved += Checkpoint;
        }

        private void Step(StepMetrics m)
        {
            _trainedTokens += m.Tokens;
            _lastLoss = m.Loss;
            service.Event(job.Id, string.Create(CultureInfo.InvariantCulture, $"Step {m.Step}/{m.TotalSteps}: training loss={m.Loss:F4}"), "metrics",
                Metrics(m.Step, m.TotalSteps, m.Loss, null, m.LearningRate, m.TokensPerSecond, m.FlopsPerSecond), m.Step);
        }

        private static string Metrics(long step, int totalSteps, double? trainLoss, double? validLoss, float? lr, double? tokensPerSecond,
            double? flopsPerSecond = null)
        {
            var d = new Dictionary<string, object> { ["step"] = step, ["total_steps"] = totalSteps };
            if (trainLoss is { } t && double.IsFinite(t)) d["train_loss"] = Math.Round(t, 6);
            if (validLoss is { } v && double.IsFinite(v)) d["valid_loss"] = Math.Round(v, 6);
            if (lr is { } l) d["learning_rate"] = l;
            if (tokensPerSecond is { } s) d["tokens_per_second"] = Math.Round(s, 1);
            // Useful FLOP/s of the job since it (re)started, over wall time that inference shares (TrainingCost).
            if (flopsPerSecond is { } f && f > 0) d["flops_per_second"] = Math.Round(f);
            return JsonSerializer.Serialize(d);
        }

        /// <summary>A checkpoint's adapter is published and served as ...:ckpt-step-N; only the last few are kept.</summary>
        private void Checkpoint(long step, string folder)
        {
            string name = $"{_modelName}:ckpt-step-{step}";
            string relative = Path.Combine("adapters", $"{job.Id}-ckpt-step-{step}");
            DataFolder.PublishAdapter(folder, service._data.FilePath(relative));
            var store = service.Store;
            store.AddCheckpoint(new JobCheckpoint(DataFolder.NewId("ftckpt-"), job.Id, Now(), step, name, _lastLoss, _lastValidLoss, _trainedTokens, relative));
            service.TryRegister(name, service._data.FilePath(relative));
            // Older ones beyond the kept few stop being served and leave the disk.
            var all = store.ListCheckpoints(job.Id, null, 1000).Items;
            foreach (var old in all.Skip(KeptCheckpoints))
            {
                service._adapters.Unregister(old.Model);
                store.DeleteCheckpoint(old.Id);
                string path = service._data.FilePath(old.Path);
                if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
            }
            long tokens = _trainedTokens; // the job's count moves at checkpoints, not every step (one write less per step)
            service.Update(job.Id, j => JobStatus.IsFinal(j.Status) ? j : j with { TrainedTokens = tokens });
            service.Event(job.Id, $"Checkpoint written at step {step}: {name}", step: step);
            service._log?.Invoke($"job {job.Id}: checkpoint at step {step}");
        }

        public void Succeeded(TrainingJob training, TrainResult result)
        {
            service._active.TryRemove(job.Id, out _);
            if (JobStatus.IsFinal(service.GetJob(job.Id).Status)) return; // cancelled meanwhile: not published
            string folder = service._data.AdapterFolder(job.Id);
            DataFolder.PublishAdapter(WorkFolder, folder);
            service.TryRegister(_modelName, folder);
            // The run's own checkpoint served resumes; the published checkpoint adapters stay.
            foreach (var dir in Directory.GetDirectories(WorkFolder, FineTuner.CheckpointPrefix + "*")) Directory.Delete(dir, recursive: true);
            // The event before the status: whoever sees "succeeded" finds the whole history.
            service.Event(job.Id, $"The job has successfully completed: {_modelName}");
            long tokens = _trainedTokens;
            var done = service.Update(job.Id, j => JobStatus.IsFinal(j.Status) ? j
                : j with { Status = JobStatus.Succeeded, FineTunedModel = _modelName, FinishedAt = Now(), TrainedTokens = tokens });
            if (done.Status != JobStatus.Succeeded) return;
            service._log?.Invoke($"job {job.Id}: succeeded: {_modelName} ({result.Steps} steps, final loss {(result.Losses.Count > 0 ? result.Losses[^1].ToString("F4", CultureInfo.InvariantCulture) : "n/a")})");
        }

        public void Failed(TrainingJob training, Exception error) =>
            service.Fail(job.Id, error is JobFailure f ? f.Error : new JobError("training_failed", error.Message, null));

        public void Cancelled(TrainingJob training) => service._active.TryRemove(job.Id, out _);
    }
}
