using System.Collections.Concurrent;
using System.Threading.Channels;
using Scion.Models.Llama;
using Scion.Models.Sampling;
using Scion.Models.Tokenization;
using Scion.Serving.Adapters;
using Scion.Serving.KvCache;
using Scion.Serving.Scheduling;

namespace Scion.Serving.Engine;

/// <summary>
/// Continuous batching over one model: one engine thread owns the model, the KV blocks and the adapter leases; each
/// step it asks the <see cref="Scheduler"/> who runs how many tokens, runs one batched forward (rows grouped by
/// adapter), samples, and streams each request's events to its own channel. Submitting, cancelling and reading are
/// safe from any thread; nothing a caller does blocks the engine, and the engine never waits for a caller.
/// </summary>
public sealed partial class ServingEngine : IDisposable, IAsyncDisposable
{
    private readonly LlamaModel _model;
    private readonly Tokenizer? _tokenizer;
    private readonly IAdapterStore? _adapters;
    private readonly EngineOptions _options;
    private readonly SchedulerBudget _budget;
    private readonly StepTimeGovernor _governor;
    private readonly KvBlockManager _blocks;
    private readonly Channel<RequestState> _inbox;
    private readonly ConcurrentQueue<RequestState> _cancels = new();
    private readonly ConcurrentQueue<(RequestState Request, AdapterLease? Lease, Exception? Error)> _loaded = new();
    private readonly ManualResetEventSlim _wake = new(false);
    private readonly Thread _thread;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _stopping;
    private long _nextRequestId;
    private int _nextSequenceId;
    private volatile EngineStats _stats = new();
    // Completed (and replaced) each time stats are published, so callers can await a change instead of polling.
    private TaskCompletionSource _published = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly EngineMetrics _metrics;
    private volatile IBackgroundWork? _background;
    private readonly CoServingBudget _coServing;
    private double _trainingSeconds;
    private long _trainingSlices;

    // Engine-thread state.
    private readonly Dictionary<long, SequenceState> _sequences = [];
    private readonly List<SequenceState> _running = [];
    private readonly List<SequenceState> _waiting = []; // sorted by arrival
    private readonly HashSet<RequestState> _loading = [];
    private readonly HashSet<RequestState> _active = [];
    private long _preemptions, _steps, _promptTokens, _generatedTokens, _requestsFinished;
    private double _stepSeconds;

    /// <param name="meterFactory">Where the engine's instruments (<see cref="EngineMetrics"/>) come from; null: a meter of its own.</param>
    public ServingEngine(LlamaModel model, Tokenizer? tokenizer, EngineOptions? options = null, IAdapterStore? adapters = null,
        System.Diagnostics.Metrics.IMeterFactory? meterFactory = null)
    {
        _model = model;
        _tokenizer = tokenizer;
        _adapters = adapters;
        _options = options ?? new EngineOptions();
        _options.Validate();
        _budget = _options.Budget;
        _governor = new StepTimeGovernor(_options.MaxStepMilliseconds / 1000.0, _options.BlockSize);
        _coServing = new CoServingBudget(_options.TrainingShare);
        _blocks = new KvBlockManager(model.Config, _options.ResolveKvTokens(model.Config, model.KvFormat), _options.BlockSize, model.KvFormat);
        _inbox = Channel.CreateBounded<RequestState>(new BoundedChannelOptions(_options.MaxQueuedRequests) { SingleReader = true });
        PublishStats();
        _metrics = new EngineMetrics(meterFactory, () => _stats);
        _thread = new Thread(Run) { IsBackground = true, Name = "scion-engine" };
        _thread.Start();
    }

    public LlamaConfig Config => _model.Config;
    public Tokenizer? Tokenizer => _tokenizer;
    public EngineOptions Options => _options;
    /// <summary>Tokens of KV cache in all.</summary>
    public int KvCacheTokens => _blocks.TotalBlocks * _blocks.BlockSize;
    /// <summary>How the cache stores keys and values, and the bytes it holds.</summary>
    public Scion.Models.KvCache.KvCacheFormat KvFormat => _blocks.Cache.Format;
    public long KvCacheBytes => _blocks.Cache.Bytes;
    public EngineStats Stats => _stats;
    /// <summary>The engine's instruments (latency histograms, token and finish counters), for exporters.</summary>
    public EngineMetrics Metrics => _metrics;

    /// <summary>The first published stats snapshot for which <paramref name="condition"/> holds (the current one
    /// if it already does); snapshots are published after every step and whenever the engine goes idle.</summary>
    public async Task<EngineStats> WhenStatsAsync(Func<EngineStats, bool> condition, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            // Take the signal before the snapshot: a publish in between completes the signal taken.
            var next = Volatile.Read(ref _published).Task;
            var stats = _stats;
            if (condition(stats)) return stats;
            await next.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Gives the engine background work (training jobs) to run in the time inference leaves, per
    /// <see cref="EngineOptions.TrainingShare"/>. One piece of work per engine; call <see cref="NotifyBackgroundWork"/>
    /// when it gets something to do while the engine may be idle.
    /// </summary>
    public void AttachBackgroundWork(IBackgroundWork work)
    {
        if (Interlocked.CompareExchange(ref _background, work, null) is not null && !ReferenceEquals(_background, work))
            throw new InvalidOperationException("This engine already has background work attached.");
        _wake.Set();
    }

    /// <summary>Wakes an idle engine to look at its background work again (any thread).</summary>
    public void NotifyBackgroundWork() => _wake.Set();

    /// <summary>Test hook, called with the request id when a cancellation is first asked for (any thread).</summary>
    internal Action<long>? CancelObserver { get; set; }

    /// <summary>Test hook, called on the engine thread with (request id, choice, generated index, logits [V]) before each sample.</summary>
    internal Action<long, int, int, float[]>? LogitsObserver { get; set; }
    /// <summary>Test hook, called on the engine thread with each step's batch before the forward.</summary>
    internal Action<ForwardBatch>? BatchObserver { get; set; }
    /// <summary>Test hook: the block manager; touch it only inside <see cref="InspectAsync"/>.</summary>
    internal KvBlockManager Blocks => _blocks;

    private readonly ConcurrentQueue<Action> _probes = new();
    private volatile bool _held;

    /// <summary>
    /// Runs <paramref name="work"/> on the engine thread between two steps, with the model to itself (the forward is
    /// not thread-safe and the engine thread owns it): for work outside generation, such as embeddings. Streams pause
    /// while it runs, so keep it short. Work should use its own KV cache, not the engine's.
    /// </summary>
    public Task<T> RunExclusiveAsync<T>(Func<LlamaModel, T> work) => InspectAsync(() => work(_model));

    /// <summary>Test hook: runs <paramref name="probe"/> on the engine thread between steps.</summary>
    internal Task<T> InspectAsync<T>(Func<T> probe)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _probes.Enqueue(() =>
        {
            try { done.SetResult(probe()); }
            catch (Exception e) { done.SetException(e); }
        });
        _wake.Set();
        return done.Task;
    }

    /// <summary>Test hook: while held, the engine takes nothing in and runs no step (after the one in progress), so
    /// requests submitted meanwhile all enter the same first step.</summary>
    internal IDisposable HoldSteps()
    {
        _held = true;
        return new Release(this);
    }

    private sealed class Release(ServingEngine engine) : IDisposable
    {
        public void Dispose()
        {
            engine._held = false;
            engine._wake.Set();
        }
    }

    /// <summary>
    /// Queues a request. Throws <see cref="ArgumentException"/> for a bad request (naming the field),
    /// <see cref="EngineOverloadedException"/> when the queue is full, <see cref="ObjectDisposedException"/> after
    /// disposal. Cancelling <paramref name="cancellationToken"/> (the client went away) aborts the request.
    /// </summary>
    public RequestHandle Submit(EngineRequest request, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_stopping, this);
        var prompt = RequestValidation.Check(request, _model.Config, _tokenizer, KvCacheTokens);
        var state = new RequestState(this, Interlocked.Increment(ref _nextRequestId), request, prompt, cancellationToken);
        if (!_inbox.Writer.TryWrite(state))
            throw new EngineOverloadedException($"The engine's queue is full ({_options.MaxQueuedRequests} requests waiting to be taken in); retry later.");
        if (cancellationToken.CanBeCanceled) state.Registration = cancellationToken.Register(() => Cancel(state));
        _wake.Set();
        return new RequestHandle(state);
    }

    internal void Cancel(RequestState state)
    {
        if (!state.RequestCancel()) return;
        CancelObserver?.Invoke(state.Id);
        _cancels.Enqueue(state);
        _wake.Set();
    }

    private void Run()
    {
        try
        {
            while (true)
            {
                _wake.Reset();
                while (_probes.TryDequeue(out var probe)) probe();
                if (_stopping) break;
                if (_held)
                {
                    _wake.Wait();
                    continue;
                }
                TakeIn();
                if (_running.Count == 0 && _waiting.Count == 0)
                {
                    if (_background is { HasWork: true } idleWork)
                    {
                        // Idle: train in fixed slices, taking in whatever arrived between them.
                        _coServing.Idle();
                        RunBackground(idleWork, _coServing.IdleSliceSeconds);
                        PublishStats();
                        continue;
                    }
                    PublishStats();
                    _wake.Wait();
                    continue;
                }
                long stepStart = System.Diagnostics.Stopwatch.GetTimestamp();
                try
                {
                    Step();
                    if (_background is { HasWork: true } work)
                    {
                        double slice = _coServing.AfterInferenceStep(System.Diagnostics.Stopwatch.GetElapsedTime(stepStart).TotalSeconds);
                        if (slice > 0) _coServing.Spent(RunBackground(work, slice));
                    }
                }
                catch (Exception e)
                {
                    // A bug in a step must not take every other request down with the process: fail the requests
                    // that were in flight and carry on with a clean slate.
                    foreach (var r in _active.Where(r => !_loading.Contains(r)).ToList())
                        FinishRequest(r, FinishReason.Error, new InvalidOperationException($"Engine step failed: {e.Message}", e));
                }
                PublishStats();
            }
        }
        finally
        {
            var stop = new ObjectDisposedException(nameof(ServingEngine), "The engine stopped before the request finished.");
            while (_inbox.Reader.TryRead(out var r)) _active.Add(r);
            foreach (var r in _active.ToList()) FinishRequest(r, FinishReason.Cancelled, stop);
            while (_loaded.TryDequeue(out var l)) l.Lease?.Dispose();
            PublishStats();
            _metrics.Dispose();
            _stopped.TrySetResult();
        }
    }

    /// <summary>One background slice on the engine thread; returns the seconds it took.</summary>
    private double RunBackground(IBackgroundWork work, double seconds)
    {
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        work.RunSlice(TimeSpan.FromSeconds(seconds));
        double took = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds;
        _trainingSeconds += took;
        _trainingSlices++;
        return took;
    }

    /// <summary>Moves submitted requests, cancellations and finished adapter loads into the engine's lists.</summary>
    private void TakeIn()
    {
        while (_loaded.TryDequeue(out var l))
        {
            _loading.Remove(l.Request);
            if (l.Request.Done) l.Lease?.Dispose();
            // A load aborted because the request was cancelled is a cancellation, not an adapter failure.
            else if (l.Error is not null) FinishRequest(l.Request, l.Request.CancelRequested ? FinishReason.Cancelled : FinishReason.Error, l.Error);
            else
            {
                l.Request.Lease = l.Lease;
                Enqueue(l.Request);
            }
        }
        while (_cancels.TryDequeue(out var c))
            if (_active.Contains(c)) FinishRequest(c, FinishReason.Cancelled);
        int waitingRequests = _waiting.Select(s => s.Request).Distinct().Count() + _loading.Count;
        while (waitingRequests < _options.MaxWaitingRequests && _inbox.Reader.TryRead(out var r))
        {
            _active.Add(r);
            waitingRequests++;
            if (r.CancelRequested) FinishRequest(r, FinishReason.Cancelled);
            else if (r.Request.Adapter is null) Enqueue(r);
            else StartAdapterLoad(r);
        }
    }

    /// <summary>Adapters load off the engine thread: the request waits, the others run.</summary>
    private void StartAdapterLoad(RequestState r)
    {
        string name = r.Request.Adapter!;
        if (_adapters is null)
        {
            FinishRequest(r, FinishReason.Error, new AdapterException($"Adapter '{name}' was requested, but this engine has no adapter store."));
            return;
        }
        _loading.Add(r);
        ValueTask<AdapterLease> pending;
        try
        {
            pending = _adapters.AcquireAsync(name, r.CancellationToken);
        }
        catch (Exception e)
        {
            _loading.Remove(r);
            FinishRequest(r, FinishReason.Error, e);
            return;
        }
        pending.AsTask().ContinueWith(t =>
        {
            // After the engine stopped nobody would take the lease in: give it back here.
            if (_stopped.Task.IsCompleted && t.IsCompletedSuccessfully) t.Result.Dispose();
            _loaded.Enqueue(t.IsCompletedSuccessfully ? (r, t.Result, null) : (r, null, t.Exception?.InnerException ?? new OperationCanceledException()));
            _wake.Set();
        }, TaskScheduler.Default);
    }

    /// <summary>Choice 0 of a request enters the waiting list; the other choices fork from it after the prompt.</summary>
    private void Enqueue(RequestState r)
    {
        var seq = new SequenceState(_nextSequenceId++, 0, r, NewSampler(r, 0), _tokenizer);
        r.Sequences.Add(seq);
        _sequences[seq.Id] = seq;
        AddWaiting(seq);
    }

    private static Sampler NewSampler(RequestState r, int index) =>
        new(r.Request.Sampling with { Seed = (r.Request.Seed ?? r.Request.Sampling.Seed) + (ulong)index });

    private void AddWaiting(SequenceState s)
    {
        int at = _waiting.FindIndex(w => w.Arrival > s.Arrival);
        _waiting.Insert(at < 0 ? _waiting.Count : at, s);
    }

    private void PublishStats()
    {
        _stats = Snapshot();
        Interlocked.Exchange(ref _published, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    private EngineStats Snapshot() => new()
    {
        RunningSequences = _running.Count,
        WaitingSequences = _waiting.Count,
        LoadingRequests = _loading.Count,
        KvBlocksUsed = _blocks.UsedBlocks,
        KvBlocksTotal = _blocks.TotalBlocks,
        KvBlocksPeak = _blocks.PeakUsedBlocks,
        KvBlocksCached = _blocks.CachedBlocks,
        KvEvictions = _blocks.Evictions,
        PrefixQueryTokens = _blocks.QueryTokens,
        PrefixHitTokens = _blocks.HitTokens,
        Preemptions = _preemptions,
        Steps = _steps,
        PromptTokensComputed = _promptTokens,
        GeneratedTokens = _generatedTokens,
        RequestsFinished = _requestsFinished,
        StepSeconds = _stepSeconds,
        BackgroundSeconds = _trainingSeconds,
        BackgroundSlices = _trainingSlices,
    };

    /// <summary>Stops the engine: requests still in flight end with <see cref="FinishReason.Cancelled"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        _stopping = true;
        _inbox.Writer.TryComplete();
        _wake.Set();
        await _stopped.Task.ConfigureAwait(false);
    }

    public void Dispose()
    {
        _stopping = true;
        _inbox.Writer.TryComplete();
        _wake.Set();
        if (Thread.CurrentThread != _thread) _thread.Join();
    }
}
