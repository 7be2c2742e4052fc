using Scion.Models.Adapters;

namespace Scion.Serving.Adapters;

/// <summary>
/// Where the engine gets adapters by name (S-LoRA's store): the engine asks for an adapter when a request that
/// names it is admitted and holds the returned lease while any of the request's sequences run. Loading happens
/// off the engine thread; the engine never blocks on it.
/// </summary>
public interface IAdapterStore
{
    /// <summary>Resolves and pins <paramref name="name"/>, loading it first if it is not resident. Fails with
    /// <see cref="AdapterException"/> (a message naming the adapter and what is wrong) when it is unknown, unreadable
    /// or of the wrong shape for the base model.</summary>
    ValueTask<AdapterLease> AcquireAsync(string name, CancellationToken cancellationToken = default);
}

/// <summary>A pinned, resident adapter: the store may not evict it until every lease on it is disposed.</summary>
public sealed class AdapterLease : IDisposable
{
    private Action? _release;

    public AdapterLease(LoraAdapter adapter, Action? release)
    {
        Adapter = adapter;
        _release = release;
    }

    public LoraAdapter Adapter { get; }
    public string Name => Adapter.Name;

    public void Dispose() => Interlocked.Exchange(ref _release, null)?.Invoke();
}

/// <summary>An adapter that cannot be used: unknown name, bad files, or a shape that does not fit the base model.</summary>
public sealed class AdapterException(string message, Exception? inner = null) : Exception(message, inner);
