namespace Scion.Serving.Adapters;

/// <summary>Residency: pins, the LRU of unpinned adapters, and eviction down to the byte budget.</summary>
public sealed partial class AdapterStore
{
    private AdapterLease PinLocked(Entry entry, Models.Adapters.LoraAdapter adapter)
    {
        if (entry.Pins++ == 0 && entry.LruNode is { } node)
        {
            _lru.Remove(node);
            entry.LruNode = null;
        }
        entry.Requests++;
        return new AdapterLease(adapter, () => Release(entry));
    }

    private void Release(Entry entry)
    {
        lock (_gate)
        {
            entry.Pins--;
            Unpinned(entry);
        }
    }

    /// <summary>A waiter that will not pin (cancelled, failed, or unregistered under it) leaves the entry.</summary>
    private void LeaveLocked(Entry entry, bool left = false)
    {
        if (!left) entry.Waiters--;
        Unpinned(entry);
    }

    /// <summary>After a pin or a waiter went: with neither left, the adapter becomes evictable (or, unregistered, goes).</summary>
    private void Unpinned(Entry entry)
    {
        if (entry.Pins > 0 || entry.Waiters > 0 || entry.Resident is null) return;
        // Unregistered while leased: its memory goes as soon as the last lease does.
        if (!IsCurrentLocked(entry)) DropResidentLocked(entry);
        else entry.LruNode ??= _lru.AddLast(entry);
        EvictOverBudgetLocked();
    }

    private void MakeResidentLocked(Entry entry, LoadedAdapter loaded)
    {
        entry.Resident = loaded.Adapter;
        entry.Bytes = loaded.Adapter.Bytes;
        entry.Config = loaded.Config ?? entry.Config;
        entry.Targets = loaded.Targets ?? entry.Targets;
        _residentBytes += entry.Bytes;
        _peakResidentBytes = Math.Max(_peakResidentBytes, _residentBytes);
        if (entry.Pins == 0 && entry.Waiters == 0) entry.LruNode = _lru.AddLast(entry);
    }

    private void DropResidentLocked(Entry entry)
    {
        if (entry.LruNode is { } node) _lru.Remove(node);
        entry.LruNode = null;
        entry.Resident = null;
        _residentBytes -= entry.Bytes;
    }

    /// <summary>Evicts adapters from the LRU (resident, no pins, no waiters), least recently used first, until the
    /// resident bytes fit the budget or only pinned ones are left.</summary>
    private void EvictOverBudgetLocked()
    {
        while (_residentBytes > Options.ByteBudget && _lru.First is { } oldest)
        {
            DropResidentLocked(oldest.Value);
            _evictions++;
        }
    }
}
