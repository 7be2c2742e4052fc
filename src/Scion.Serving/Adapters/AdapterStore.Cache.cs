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
            if (--entry.Pins > 0 || entry.Resident is null) return;
            // Unregistered while leased: its memory goes as soon as the last lease does.
            if (!IsCurrentLocked(entry)) DropResidentLocked(entry);
            else entry.LruNode = _lru.AddLast(entry);
            EvictOverBudgetLocked(keep: null);
        }
    }

    private void MakeResidentLocked(Entry entry, LoadedAdapter loaded)
    {
        entry.Resident = loaded.Adapter;
        entry.Bytes = loaded.Adapter.Bytes;
        entry.Config = loaded.Config ?? entry.Config;
        entry.Targets = loaded.Targets ?? entry.Targets;
        _residentBytes += entry.Bytes;
        _peakResidentBytes = Math.Max(_peakResidentBytes, _residentBytes);
        if (entry.Pins == 0) entry.LruNode = _lru.AddLast(entry);
    }

    private void DropResidentLocked(Entry entry)
    {
        if (entry.LruNode is { } node) _lru.Remove(node);
        entry.LruNode = null;
        entry.Resident = null;
        _residentBytes -= entry.Bytes;
    }

    /// <summary>Evicts unpinned adapters, least recently used first, until the resident bytes fit the budget or only
    /// pinned ones (and <paramref name="keep"/>, just loaded for waiters that have not pinned it yet) are left.</summary>
    private void EvictOverBudgetLocked(Entry? keep)
    {
        var node = _lru.First;
        while (_residentBytes > Options.ByteBudget && node is not null)
        {
            var next = node.Next;
            if (!ReferenceEquals(node.Value, keep))
            {
                DropResidentLocked(node.Value);
                _evictions++;
            }
            node = next;
        }
    }
}
