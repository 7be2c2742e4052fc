namespace Scion.Models.KvCache;

/// <summary>The cache blocks of one sequence, in position order: position p lives in Blocks[p / blockSize] at slot p % blockSize.</summary>
public sealed class KvBlockTable
{
    public List<int> Blocks { get; } = [];
    /// <summary>Positions [0, Length) hold valid keys and values.</summary>
    public int Length { get; internal set; }
    /// <summary>Blocks owned by a caller's block pool (<see cref="PagedKvCache.Attach"/>): the cache never frees them.</summary>
    public bool External { get; internal init; }
}
