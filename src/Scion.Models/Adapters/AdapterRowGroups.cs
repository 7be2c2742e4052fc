using Scion.Models.Llama;

namespace Scion.Models.Adapters;

/// <summary>The rows of one batch that use one adapter, in batch order; the rows need not be contiguous.</summary>
public sealed record AdapterRowGroup(LoraAdapter Adapter, int[] Rows);

/// <summary>
/// A batch's rows grouped by adapter (Punica's SGMV grouping): one group per distinct adapter, in order of first
/// appearance; base-model rows belong to no group. Built once per forward in O(rows), so callers need not sort rows
/// by adapter, and the adapter math per linear costs rows × rank whatever the number of adapters resident.
/// </summary>
public sealed class AdapterRowGroups
{
    public static AdapterRowGroups None { get; } = new([]);

    private AdapterRowGroups(AdapterRowGroup[] groups) => All = groups;

    internal AdapterRowGroup[] All { get; }
    public IReadOnlyList<AdapterRowGroup> Groups => All;
    public bool IsEmpty => All.Length == 0;

    /// <param name="adapters">[rows] each row's adapter, null for the base model; adapters compare by reference.</param>
    public static AdapterRowGroups Of(IReadOnlyList<LoraAdapter?> adapters)
    {
        Dictionary<LoraAdapter, List<int>>? rows = null;
        List<LoraAdapter>? order = null;
        LoraAdapter? last = null;
        List<int>? lastRows = null;
        for (int t = 0; t < adapters.Count; t++)
        {
            if (adapters[t] is not { } a) continue;
            // Rows of one sequence are runs: skip the lookup while the adapter repeats.
            if (!ReferenceEquals(a, last))
            {
                rows ??= new(ReferenceEqualityComparer.Instance);
                order ??= [];
                if (!rows.TryGetValue(a, out lastRows)) { rows[a] = lastRows = []; order.Add(a); }
                last = a;
            }
            lastRows!.Add(t);
        }
        if (order is null) return None;
        return new([.. order.Select(a => new AdapterRowGroup(a, [.. rows![a]]))]);
    }

    public static AdapterRowGroups Of(ForwardBatch batch) => Of(batch.Adapters);
}
