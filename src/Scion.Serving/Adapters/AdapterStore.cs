using Scion.Models.Adapters;
using Scion.Models.Llama;

namespace Scion.Serving.Adapters;

/// <summary>
/// S-LoRA's adapter store: named adapters registered from PEFT folders, loaded on first use into a host-memory
/// cache under a byte budget with LRU eviction, pinned while a lease is held. Loads run on the thread pool (at most
/// <see cref="AdapterStoreOptions.MaxConcurrentLoads"/> at once); concurrent acquires of one name share one load.
/// A failed load fails only the acquires waiting on it and is not remembered as a result: the next acquire reads
/// the folder again, so fixing the files fixes the adapter. All methods are thread-safe; the state is guarded by one
/// lock held only for bookkeeping, never across file reads, so the engine thread never waits on a load.
/// </summary>
public sealed partial class AdapterStore : IAdapterStore
{
    /// <summary>What a load produced: the adapter, ready for the forward, and what the listing shows about it.</summary>
    internal sealed record LoadedAdapter(LoraAdapter Adapter, PeftAdapterConfig? Config, IReadOnlyList<string>? Targets);

    /// <summary>Reads (name, folder) into an adapter for the base model; throws on anything wrong with the files.</summary>
    internal delegate LoadedAdapter LoadFunction(string name, string folder);

    private readonly object _gate = new();
    private readonly LoadFunction _load;
    private readonly SemaphoreSlim _loadSlots;
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly List<string> _roots = [];
    // Resident adapters with no lease, least recently used first: the eviction order.
    private readonly LinkedList<Entry> _lru = new();

    private long _residentBytes, _peakResidentBytes;
    private long _loads, _loadFailures, _evictions, _hits, _misses;

    public AdapterStore(LlamaModel model, AdapterStoreOptions? options = null)
        : this(options ?? new AdapterStoreOptions(), (name, folder) => LoadFromFolder(model, name, folder))
    {
    }

    internal AdapterStore(AdapterStoreOptions options, LoadFunction load)
    {
        options.Validate();
        Options = options;
        _load = load;
        _loadSlots = new SemaphoreSlim(options.MaxConcurrentLoads, options.MaxConcurrentLoads);
    }

    public AdapterStoreOptions Options { get; }

    private static LoadedAdapter LoadFromFolder(LlamaModel model, string name, string folder)
    {
        var peft = PeftAdapterFiles.Load(folder);
        var adapter = AdapterLoader.FromPeft(peft, model, name).Prepare();
        var targets = peft.Pairs.Select(p => p.Module).Distinct().OrderBy(LoraModules.Order).ToArray();
        return new LoadedAdapter(adapter, peft.Config, targets);
    }

    /// <summary>Every failure comes back through the returned task, never as a synchronous throw, so the engine can
    /// start acquires for a step and handle their outcomes in one place.</summary>
    public ValueTask<AdapterLease> AcquireAsync(string name, CancellationToken cancellationToken = default)
    {
        if (AdapterPaths.NameProblem(name) is { } problem)
            return ValueTask.FromException<AdapterLease>(new AdapterException($"Adapter name '{name}' is refused: {problem}."));
        if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled<AdapterLease>(cancellationToken);
        Entry? entry;
        Task<LoadedAdapter> load;
        lock (_gate)
        {
            if (!_entries.TryGetValue(name, out entry))
                return ValueTask.FromException<AdapterLease>(
                    new AdapterException($"Adapter '{name}' is not registered ({_entries.Count} adapters are; register its folder first)."));
            if (entry.Resident is { } resident)
            {
                _hits++;
                return new ValueTask<AdapterLease>(PinLocked(entry, resident));
            }
            _misses++;
            entry.Waiters++;
            load = entry.Load ??= StartLoadLocked(entry);
        }
        return new ValueTask<AdapterLease>(AwaitLoadAsync(entry, load, cancellationToken));
    }

    private async Task<AdapterLease> AwaitLoadAsync(Entry entry, Task<LoadedAdapter> load, CancellationToken cancellationToken)
    {
        // The load is shared: one waiter giving up does not cancel it for the others.
        try
        {
            await load.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            lock (_gate) LeaveLocked(entry);
            throw;
        }
        lock (_gate)
        {
            entry.Waiters--;
            // Waiters keep a loaded adapter out of the LRU, so it is still resident unless it was unregistered.
            if (!IsCurrentLocked(entry) || entry.Resident is not { } resident)
            {
                LeaveLocked(entry, left: true);
                throw new AdapterException($"Adapter '{entry.Name}' was unregistered while it was loading.");
            }
            return PinLocked(entry, resident);
        }
    }

    private Task<LoadedAdapter> StartLoadLocked(Entry entry) => Task.Run(async () =>
    {
        LoadedAdapter loaded;
        await _loadSlots.WaitAsync().ConfigureAwait(false);
        try
        {
            loaded = _load(entry.Name, entry.Folder);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            string message = $"Adapter '{entry.Name}' ({entry.Folder}) cannot be loaded: {e.Message}";
            lock (_gate)
            {
                entry.Load = null;
                entry.LastError = message;
                _loadFailures++;
            }
            throw new AdapterException(message, e);
        }
        finally
        {
            _loadSlots.Release();
        }
        lock (_gate)
        {
            entry.Load = null;
            if (IsCurrentLocked(entry))
            {
                _loads++;
                entry.LastError = null;
                MakeResidentLocked(entry, loaded);
                EvictOverBudgetLocked();
            }
        }
        return loaded;
    });

    private bool IsCurrentLocked(Entry entry) => _entries.TryGetValue(entry.Name, out var current) && ReferenceEquals(current, entry);

    public AdapterStoreStats Stats
    {
        get
        {
            lock (_gate)
            {
                return new AdapterStoreStats
                {
                    Loads = _loads, LoadFailures = _loadFailures, Evictions = _evictions, Hits = _hits, Misses = _misses,
                    ResidentBytes = _residentBytes, PeakResidentBytes = _peakResidentBytes, ByteBudget = Options.ByteBudget,
                    ResidentAdapters = _entries.Values.Count(e => e.Resident is not null),
                    PinnedAdapters = _entries.Values.Count(e => e.Pins > 0),
                    Registered = _entries.Count,
                };
            }
        }
    }

    /// <summary>One registered name. Fields are guarded by the store's lock.</summary>
    private sealed class Entry(string name, string folder)
    {
        public string Name { get; } = name;
        public string Folder { get; } = folder;
        public LoraAdapter? Resident;
        public long Bytes = -1;            // -1 until the first load
        public int Pins;
        public int Waiters;                // acquires waiting on Load: like pins, they keep the loaded adapter resident
        public long Requests;
        public Task<LoadedAdapter>? Load;  // the load in progress, shared by every acquire that arrives meanwhile
        public LinkedListNode<Entry>? LruNode; // set while resident and unpinned
        public PeftAdapterConfig? Config;
        public IReadOnlyList<string>? Targets;
        public string? LastError;
    }
}
