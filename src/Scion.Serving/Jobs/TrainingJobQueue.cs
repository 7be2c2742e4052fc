using System.Collections.Concurrent;
using Scion.Models.Llama;
using Scion.Serving.Engine;

namespace Scion.Serving.Jobs;

/// <summary>
/// Training jobs co-served with inference: the engine runs this queue's slices in the time inference leaves
/// (<see cref="EngineOptions.TrainingShare"/>), on its own thread, over the same model, weights and worker pool — no
/// second copy of the base. Jobs run one after another in submission order rather than interleaved: the first
/// adapter is ready in 1/k of the time k interleaved jobs would take, only one job's activations and optimizer
/// state are alive at once, and each job's result does not depend on the others.
/// </summary>
public sealed class TrainingJobQueue : IBackgroundWork
{
    private readonly ServingEngine _engine;
    private readonly LlamaModel _model;
    private readonly ConcurrentQueue<TrainingJob> _submitted = new();
    private readonly Queue<TrainingJob> _queue = new(); // engine thread only
    private TrainingJob? _current;
    private volatile int _pending;

    public TrainingJobQueue(ServingEngine engine, LlamaModel model)
    {
        _engine = engine;
        _model = model;
        engine.AttachBackgroundWork(this);
    }

    /// <summary>Jobs submitted and not yet finished, failed or cancelled (the running one included).</summary>
    public int Pending => _pending;

    public void Enqueue(TrainingJob job)
    {
        job.AttachTo(this);
        Interlocked.Increment(ref _pending);
        _submitted.Enqueue(job);
        _engine.NotifyBackgroundWork();
    }

    internal void Notify() => _engine.NotifyBackgroundWork();

    public bool HasWork => _current is not null || _queue.Count > 0 || !_submitted.IsEmpty;

    public void RunSlice(TimeSpan budget)
    {
        while (_submitted.TryDequeue(out var submitted)) _queue.Enqueue(submitted);
        while (_current is null && _queue.TryDequeue(out var next))
        {
            if (next.CancelRequested) End(next, j => j.Listener.Cancelled(j));
            else _current = next;
        }
        if (_current is not { } job) return;
        if (job.CancelRequested)
        {
            End(job, j => j.Listener.Cancelled(j));
            return;
        }
        try
        {
            if (job.Tuner is null)
            {
                // Building the tuner (adapter init, PiSSA's SVD, a resume) is this job's first slice.
                job.Tuner = job.CreateTuner(_model);
                job.Listener.Started(job, job.Tuner);
                return;
            }
            if (job.Tuner.RunFor(budget))
            {
                var result = job.Tuner.Result!;
                End(job, j => j.Listener.Succeeded(j, result));
            }
        }
        catch (Exception e)
        {
            End(job, j => j.Listener.Failed(j, e));
        }
    }

    /// <summary>Takes the job off the queue, then tells its listener; a listener that throws turns the end into a failure.</summary>
    private void End(TrainingJob job, Action<TrainingJob> tell)
    {
        if (ReferenceEquals(_current, job)) _current = null;
        job.Tuner = null; // its activations, moments and adapters can go
        Interlocked.Decrement(ref _pending);
        try
        {
            tell(job);
        }
        catch (Exception e)
        {
            try { job.Listener.Failed(job, e); } catch (Exception) { /* a listener's own failure must not stop the engine */ }
        }
    }
}
