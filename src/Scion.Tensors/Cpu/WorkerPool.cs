using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;

namespace Scion.Tensors;

/// <summary>One item of parallel work; a struct so a run needs no closure or delegate allocation.</summary>
public interface IParallelJob
{
    void Execute(int index);
}

/// <summary>
/// Persistent worker threads that run <c>count</c> indexed items of a job, the calling thread taking items too.
/// Items are handed out through one atomic counter, so uneven items balance themselves. A run from inside a
/// run (a job that calls back into any pool), or on a pool of one thread, executes inline: never deadlocks.
/// Runs from different outside threads are serialized.
/// </summary>
public sealed unsafe class WorkerPool : IDisposable
{
    private static readonly Lazy<WorkerPool> SharedPool = new(() => new WorkerPool(DefaultThreadCount()));

    /// <summary>The process-wide pool: SCION_THREADS threads if set, else one per logical core.</summary>
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
    private int _next;
    private int _pending;
    private Exception? _error;

    /// <summary>Creates a pool where <paramref name="threadCount"/> threads (the caller included) share each run.</summary>
    public WorkerPool(int threadCount)
    {
        if (threadCount < 1) throw new ArgumentOutOfRangeException(nameof(threadCount), threadCount, "A pool needs at least one thread.");
        ThreadCount = threadCount;
        _workers = new Thread[threadCount - 1];
        for (int i = 0; i < _workers.Length; i++)
        {
            _workers[i] = new Thread(WorkerLoop) { IsBackground = true, Name = $"scion-worker-{i + 1}" };
            _workers[i].Start();
        }
    }

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
                _next = 0;
                _error = null;
                _pending = _workers.Length;
                lock (_wake)
                {
                    _generation++;
                    Monitor.PulseAll(_wake);
                }
                DrainItems();
                // Every worker must be past this run before the stack copy dies and the next run rewrites the fields.
                SpinWait spin = default;
                while (Volatile.Read(ref _pending) != 0) spin.SpinOnce(sleep1Threshold: -1);
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
            int i = Interlocked.Increment(ref _next) - 1;
            if (i >= _count) return;
            try
            {
                _invoke(_state, i);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _error, e, null);
            }
        }
    }

    private void WorkerLoop()
    {
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
            Interlocked.Decrement(ref _pending);
        }
    }

    private static int DefaultThreadCount()
    {
        var env = Environment.GetEnvironmentVariable("SCION_THREADS");
        if (int.TryParse(env, out int n) && n > 0) return n;
        return Environment.ProcessorCount;
    }

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
