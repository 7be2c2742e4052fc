using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using Scion.Tensors.Cpu;

namespace Scion.Tensors;

/// <summary>One item of parallel work; a struct so a run needs no closure or delegate allocation.</summary>
public interface IParallelJob
{
    void Execute(int index);
}

/// <summary>
/// Persistent worker threads that run <c>count</c> indexed items of a job, the calling thread taking items too.
/// Items are handed out through one atomic counter, so uneven items balance themselves. A run returns as soon as
/// every item is complete: a worker that is descheduled, or wakes late, holds up no run it took no item of.
/// A run from inside a run (a job that calls back into any pool), or on a pool of one thread, executes inline:
/// never deadlocks. Runs from different outside threads are serialized.
/// Workers may be pinned one per CPU (Linux) so the scheduler does not migrate them between runs and their caches
/// stay warm; the calling thread is the user's and is never pinned.
/// </summary>
public sealed unsafe class WorkerPool : IDisposable
{
    private static readonly Lazy<WorkerPool> SharedPool = new(() => new WorkerPool(DefaultThreadCount(), DefaultPinning));

    /// <summary>The process-wide pool: SCION_THREADS threads if set, else one per logical core; workers pinned unless
    /// SCION_PIN=0.</summary>
    public static WorkerPool Shared => SharedPool.Value;

    [ThreadStatic] private static int t_depth;

    private readonly Thread[] _workers;
    private readonly object _runGate = new();
    private readonly object _wake = new();
    private volatile int _generation;
    private volatile bool _disposed;

    // The current run; written under _runGate before _generation is bumped, read by workers after they see it.
    private delegate*<void*, int, void> _invoke;
    private void* _state;
    private int _count;
    // (generation << 32) | next item index. Claiming an item is a compare-exchange on this whole word, so a worker
    // still holding an old generation's ticket can never claim an item of a later run; and a claimed item is by
    // definition incomplete, so the caller is still waiting and _invoke/_state are those of the ticket's run.
    // Between runs the index is Closed: the fields are rewritten only then, so a worker that read the old ticket
    // and then the new _count cannot pass the range check with a ticket the exchange would still accept.
    private long _ticket = Closed;
    private const long Closed = int.MaxValue;
    private int _completed;
    private Exception? _error;

    /// <summary>Creates a pool where <paramref name="threadCount"/> threads (the caller included) share each run.</summary>
    /// <param name="pinWorkers">Pin worker k to the k-th allowed CPU (the caller keeps CPU 0's share). Only done when
    /// the process may use at least <paramref name="threadCount"/> CPUs: oversubscribed pinned threads would queue
    /// behind each other instead of being spread by the scheduler.</param>
    public WorkerPool(int threadCount, bool pinWorkers = false)
    {
        if (threadCount < 1) throw new ArgumentOutOfRangeException(nameof(threadCount), threadCount, "A pool needs at least one thread.");
        ThreadCount = threadCount;
        int[]? cpus = pinWorkers ? ThreadAffinity.AllowedCpus() : null;
        if (cpus is not null && cpus.Length < threadCount) cpus = null;
        _workers = new Thread[threadCount - 1];
        var started = new CountdownEvent(_workers.Length);
        for (int i = 0; i < _workers.Length; i++)
        {
            int cpu = cpus is null ? -1 : cpus[i + 1];
            _workers[i] = new Thread(() => WorkerLoop(cpu, started)) { IsBackground = true, Name = $"scion-worker-{i + 1}" };
            _workers[i].Start();
        }
        // Workers pin themselves first thing; waiting for that makes PinnedWorkers final once the pool exists.
        started.Wait();
        started.Dispose();
    }

    private int _pinnedWorkers;

    /// <summary>Workers whose pinning the OS accepted.</summary>
    public int PinnedWorkers => Volatile.Read(ref _pinnedWorkers);

    /// <summary>Threads sharing each run, the caller included.</summary>
    public int ThreadCount { get; }

    /// <summary>True on a thread that is currently executing an item of some pool's run.</summary>
    public static bool IsInsideRun => t_depth > 0;

    /// <summary>Calls <c>job.Execute(i)</c> for every i in [0, count), spread over the pool; returns when all are done.
    /// The first exception an item throws is rethrown here after the other items finish.</summary>
    public void Run<T>(int count, ref T job) where T : struct, IParallelJob
    {
        if (count <= 0) return;
        if (count == 1 || _workers.Length == 0 || t_depth > 0 || _disposed)
        {
            t_depth++;
            try
            {
                for (int i = 0; i < count; i++) job.Execute(i);
            }
            finally { t_depth--; }
            return;
        }

        // A stack copy cannot move under the GC, so workers may hold a raw pointer to it for the run.
        T local = job;
        lock (_runGate)
        {
            t_depth++;
            try
            {
                _invoke = &Invoke<T>;
                _state = Unsafe.AsPointer(ref local);
                _count = count;
                _completed = 0;
                _error = null;
                int generation = _generation + 1;
                // Publishing the ticket (a full fence) makes the fields above visible to whoever claims from it.
                Interlocked.Exchange(ref _ticket, (long)generation << 32);
                lock (_wake)
                {
                    _generation = generation;
                    Monitor.PulseAll(_wake);
                }
                DrainItems();
                // Only workers holding an item can touch the stack copy or the fields; once every item is complete
                // none does, and the others can no longer claim anything of this run (the index is exhausted and
                // the next run changes the generation in the ticket).
                SpinWait spin = default;
                while (Volatile.Read(ref _completed) != count) spin.SpinOnce(sleep1Threshold: -1);
                Interlocked.Exchange(ref _ticket, ((long)generation << 32) | Closed);
                _state = null;
            }
            finally { t_depth--; }
            if (_error is { } error) ExceptionDispatchInfo.Capture(error).Throw();
        }
        job = local;
    }

    private static void Invoke<T>(void* state, int index) where T : struct, IParallelJob =>
        Unsafe.AsRef<T>(state).Execute(index);

    private void DrainItems()
    {
        while (true)
        {
            long ticket = Volatile.Read(ref _ticket);
            int i = (int)ticket;
            // _count may already belong to a later run; then the ticket was closed since, and the exchange fails.
            if (i >= Volatile.Read(ref _count)) return;
            if (Interlocked.CompareExchange(ref _ticket, ticket + 1, ticket) != ticket) continue;
            // Item i of the ticket's run is ours and incomplete, so that run's caller is still waiting.
            try
            {
                _invoke(_state, i);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _error, e, null);
            }
            // After this the item is complete and the run may end: touch nothing of it any more.
            Interlocked.Increment(ref _completed);
        }
    }

    private void WorkerLoop(int cpu, CountdownEvent started)
    {
        if (cpu >= 0 && ThreadAffinity.PinCurrentThread(cpu)) Interlocked.Increment(ref _pinnedWorkers);
        started.Signal();
        t_depth = 1;
        int seen = 0;
        while (true)
        {
            // Spin briefly first: decode issues runs back to back, and a blocked thread takes microseconds to wake.
            SpinWait spin = default;
            while (_generation == seen && !_disposed && spin.Count < 40) spin.SpinOnce(sleep1Threshold: -1);
            if (_generation == seen && !_disposed)
            {
                lock (_wake)
                {
                    while (_generation == seen && !_disposed) Monitor.Wait(_wake);
                }
            }
            if (_disposed) return;
            seen = _generation;
            DrainItems();
        }
    }

    private static int DefaultThreadCount()
    {
        return EnvironmentSettings.Threads ?? Environment.ProcessorCount;
    }

    /// <summary>Whether pools pin their workers unless told otherwise: yes, except with SCION_PIN=0.</summary>
    public static bool DefaultPinning => EnvironmentSettings.Pin;

    public void Dispose()
    {
        if (_disposed) return;
        lock (_runGate)
        {
            _disposed = true;
            lock (_wake) Monitor.PulseAll(_wake);
        }
        foreach (var t in _workers) t.Join();
    }
}
