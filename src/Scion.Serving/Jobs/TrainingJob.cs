using Scion.Models.Llama;
using Scion.Training.Trainer;

namespace Scion.Serving.Jobs;

/// <summary>What a training job reports as it runs; every call comes on the engine thread, between slices.</summary>
public interface ITrainingJobListener
{
    /// <summary>The tuner exists (adapters initialised, resumed if it had a checkpoint); subscribe to its events here.</summary>
    void Started(TrainingJob job, FineTuner tuner);
    /// <summary>The run finished and the tuner wrote the adapter to its output folder.</summary>
    void Succeeded(TrainingJob job, TrainResult result);
    void Failed(TrainingJob job, Exception error);
    void Cancelled(TrainingJob job);
}

/// <summary>
/// One fine-tuning run for the <see cref="TrainingJobQueue"/>: how to build its <see cref="FineTuner"/> over the
/// served model (called on the engine thread, which owns the model) and whom to tell how it goes.
/// </summary>
public sealed class TrainingJob(string id, Func<LlamaModel, FineTuner> createTuner, ITrainingJobListener listener)
{
    private volatile bool _cancel;
    private volatile TrainingJobQueue? _queue;

    public string Id { get; } = id;
    public ITrainingJobListener Listener { get; } = listener;
    public bool CancelRequested => _cancel;
    internal Func<LlamaModel, FineTuner> CreateTuner { get; } = createTuner;
    internal FineTuner? Tuner { get; set; }

    internal void AttachTo(TrainingJobQueue queue) => _queue = queue;

    /// <summary>Asks the job to stop (any thread); it ends at the start of its next slice with <see cref="ITrainingJobListener.Cancelled"/>.</summary>
    public void Cancel()
    {
        _cancel = true;
        _queue?.Notify();
    }
}
