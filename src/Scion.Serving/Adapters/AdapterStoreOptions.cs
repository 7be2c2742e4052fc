namespace Scion.Serving.Adapters;

/// <summary>Limits of an <see cref="AdapterStore"/>.</summary>
public sealed record AdapterStoreOptions
{
    /// <summary>Host memory for resident adapters (fp32 A, B, Bᵀ and DoRA factors). Unpinned adapters are evicted,
    /// least recently used first, to stay under it. When every resident adapter is pinned, a load still goes ahead
    /// and the store runs over budget until leases are released (the engine's cap on distinct adapters per step
    /// bounds how far): waiting instead could deadlock a step that needs an adapter while holding the others.</summary>
    public long ByteBudget { get; init; } = 2L << 30;

    /// <summary>Loads running at once (each reads files and, for DoRA, dequantizes base rows): bounded so a burst of
    /// new adapter names cannot take every core from the engine.</summary>
    public int MaxConcurrentLoads { get; init; } = 2;

    public void Validate()
    {
        if (ByteBudget < 0) throw new ArgumentOutOfRangeException(nameof(ByteBudget), ByteBudget, "The adapter byte budget must not be negative.");
        if (MaxConcurrentLoads < 1) throw new ArgumentOutOfRangeException(nameof(MaxConcurrentLoads), MaxConcurrentLoads, "At least one adapter load must be allowed at a time.");
    }
}
