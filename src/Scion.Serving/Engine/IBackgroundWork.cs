namespace Scion.Serving.Engine;

/// <summary>
/// Work the engine runs on its own thread in the time inference leaves it (training jobs, <see cref="Jobs.TrainingJobQueue"/>):
/// it shares the model, its weights and the worker pool with inference without locks because only the engine thread
/// ever runs either. The engine asks <see cref="HasWork"/> between steps and gives slices per its
/// <see cref="Scheduling.CoServingBudget"/>.
/// </summary>
public interface IBackgroundWork
{
    /// <summary>Whether a slice would do anything now (asked on the engine thread).</summary>
    bool HasWork { get; }

    /// <summary>Runs for about <paramref name="budget"/> on the engine thread; must not throw (failures are the work's own).</summary>
    void RunSlice(TimeSpan budget);
}
