namespace Scion.Serving.Adapters;

/// <summary>One registered adapter as <see cref="AdapterStore.List"/> shows it. Rank, alpha and targets are known
/// once the adapter has been loaded (configs are read at first use, so registering thousands stays cheap).</summary>
public sealed record AdapterInfo
{
    public required string Name { get; init; }
    public required string Folder { get; init; }
    public required bool IsLoaded { get; init; }
    public required bool IsLoading { get; init; }
    /// <summary>Leases held now; a pinned adapter is not evicted.</summary>
    public required int Pins { get; init; }
    /// <summary>Successful acquires since registration.</summary>
    public required long Requests { get; init; }
    /// <summary>Host bytes when resident (kept after eviction as the last known size); null before the first load.</summary>
    public long? Bytes { get; init; }
    public int? Rank { get; init; }
    public double? Alpha { get; init; }
    /// <summary>Adapted modules, e.g. ["q_proj", "v_proj"], from the loaded tensors.</summary>
    public IReadOnlyList<string>? Targets { get; init; }
    public bool? UseDora { get; init; }
    public bool? UseRslora { get; init; }
    /// <summary>Why the last load failed, until one succeeds.</summary>
    public string? LastError { get; init; }
}

/// <summary>Counters of an <see cref="AdapterStore"/> since it was created.</summary>
public sealed record AdapterStoreStats
{
    public required long Loads { get; init; }
    public required long LoadFailures { get; init; }
    public required long Evictions { get; init; }
    /// <summary>Acquires that found the adapter resident.</summary>
    public required long Hits { get; init; }
    /// <summary>Acquires that had to load (or join a load in progress).</summary>
    public required long Misses { get; init; }
    public required long ResidentBytes { get; init; }
    public required int ResidentAdapters { get; init; }
    public required int PinnedAdapters { get; init; }
    public required int Registered { get; init; }
    public required long ByteBudget { get; init; }
    /// <summary>Most bytes resident at once; above <see cref="ByteBudget"/> when everything resident was pinned.</summary>
    public required long PeakResidentBytes { get; init; }
}

/// <summary>What <see cref="AdapterStore.RegisterRoot"/> found under a root folder.</summary>
public sealed record RootScan(string Root, IReadOnlyList<string> Registered, IReadOnlyList<string> Skipped);
