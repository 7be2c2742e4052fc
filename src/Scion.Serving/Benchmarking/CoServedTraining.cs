using Scion.Models.Llama;
using Scion.Serving.Engine;
using Scion.Serving.Jobs;
using Scion.Training.Data;
using Scion.Training.Model;
using Scion.Training.Peft;
using Scion.Training.Trainer;

namespace Scion.Serving.Benchmarking;

/// <summary>
/// bench-serve --train: one long training job co-served by the engine under test, counting the tokens it trains so
/// the bench can report training speed alone (before the load) and during the load, beside the latency figures.
/// </summary>
public sealed class CoServedTraining : ITrainingJobListener, IDisposable
{
    private readonly TrainingJob _job;
    private readonly string _folder;
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _tokens;

    public CoServedTraining(ServingEngine engine, LlamaModel model, IReadOnlyList<TrainingExample> data, PeftOptions peft, TrainerOptions options)
    {
        _folder = Path.Combine(Path.GetTempPath(), $"scion-bench-train-{Guid.NewGuid():N}");
        var queue = new TrainingJobQueue(engine, model);
        _job = new TrainingJob("bench", m => new FineTuner(new TrainingModel(m), peft, options, data, null, _folder), this);
        queue.Enqueue(_job);
    }

    /// <summary>Tokens trained so far (completed optimizer steps).</summary>
    public long Tokens => Interlocked.Read(ref _tokens);
    public string? Error { get; private set; }
    public bool Ended { get; private set; }
    public Task WhenStarted => _started.Task;
    /// <summary>Set by the bench after the standalone phase.</summary>
    public double AloneTokensPerSecond { get; set; }

    public void Started(TrainingJob job, FineTuner tuner)
    {
        tuner.StepCompleted += m => Interlocked.Add(ref _tokens, m.Tokens);
        _started.TrySetResult();
    }

    public void Succeeded(TrainingJob job, TrainResult result) => Ended = true;

    public void Failed(TrainingJob job, Exception error)
    {
        Error = error.Message;
        Ended = true;
        _started.TrySetException(error);
    }

    public void Cancelled(TrainingJob job) => Ended = true;

    public void Dispose()
    {
        _job.Cancel();
        try { if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true); }
        catch (IOException) { }
    }
}
