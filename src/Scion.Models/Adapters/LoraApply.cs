using Scion.Models.Llama;
using Scion.Tensors;

namespace Scion.Models.Adapters;

/// <summary>
/// Adds adapters to a base linear output (S-LoRA/Punica: rows of one batch use different adapters, and the base
/// product W·x is computed once for all of them). Per group of rows sharing an adapter, the shrink x·Aᵀ
/// ([rows, in]·[in, r]) and the expand ·Bᵀ ([rows, r]·[r, out]) run as two thin matrix products
/// (<see cref="LowRankProduct"/>), each adapter's A and B read once per group instead of once per row.
/// </summary>
public static class LoraApply
{
    // [rows, r] rank-space activations of the group being applied; one per thread (one forward runs per model at a time).
    [ThreadStatic] private static float[]? t_rankSpace;
    [ThreadStatic] private static int[]? t_contiguous;

    /// <summary>Every group's module of (layer, slot), added to its rows of y.</summary>
    /// <param name="x">[tokens, inDim] input of the linear.</param>
    /// <param name="y">[tokens, outDim] base output, updated in place.</param>
    public static unsafe void AddGroups(int layer, LinearSlot slot, ReadOnlySpan<float> x, Span<float> y, int inDim, int outDim,
        AdapterRowGroups groups, WorkerPool? pool = null)
    {
        // A group worth the pool on its own (a prefill) runs its products split over the pool, one group at a time;
        // the small ones (decode rows, one or a few per adapter) run side by side, one group per work item, so 32
        // distinct adapters of one row each still use every core. Either way a row gets the same bits.
        long smallWork = 0;
        int small = 0;
        foreach (var g in groups.All)
        {
            if (g.Adapter[layer, slot] is not { } m) continue;
            if (m.In != inDim || m.Out != outDim)
                throw new ArgumentException($"Adapter '{g.Adapter.Name}' layer {layer} {slot}: module is [{m.Out}, {m.In}] but the base linear is [{outDim}, {inDim}].");
            long work = Work(m, g.Rows.Length);
            if (work >= LowRankProduct.ParallelThreshold) Add(m, x, y, g.Rows, pool);
            else { smallWork += work; small++; }
        }
        if (small == 0) return;
        fixed (float* px = x) fixed (float* py = y)
        {
            var job = new SmallGroupsJob { Groups = groups.All, Layer = layer, Slot = slot, X = px, XLength = x.Length, Y = py, YLength = y.Length };
            if (pool is null || small == 1 || smallWork < LowRankProduct.ParallelThreshold)
                for (int i = 0; i < groups.All.Length; i++) job.Execute(i);
            else pool.Run(groups.All.Length, ref job);
        }
    }

    // Multiply-adds of a group: shrink rows·r·in plus expand rows·r·out.
    private static long Work(LoraModule m, int rows) => (long)rows * m.Rank * (m.In + m.Out);

    private unsafe struct SmallGroupsJob : IParallelJob
    {
        public AdapterRowGroup[] Groups;
        public int Layer;
        public LinearSlot Slot;
        public float* X;   // [tokens, in]
        public int XLength;
        public float* Y;   // [tokens, out]; groups own disjoint rows, so items never write the same row
        public int YLength;

        public readonly void Execute(int index)
        {
            var g = Groups[index];
            if (g.Adapter[Layer, Slot] is not { } m || Work(m, g.Rows.Length) >= LowRankProduct.ParallelThreshold) return;
            Add(m, new ReadOnlySpan<float>(X, XLength), new Span<float>(Y, YLength), g.Rows, null);
        }
    }

    /// <summary>y[rows[i]] = DoRA? factor ⊙ (y[rows[i]] + s·B A x[rows[i]]) : y[rows[i]] + s·B A x[rows[i]].</summary>
    /// <param name="x">[*, in]</param>
    /// <param name="y">[*, out]</param>
    public static void Add(LoraModule m, ReadOnlySpan<float> x, Span<float> y, ReadOnlySpan<int> rows, WorkerPool? pool = null)
    {
        int need = rows.Length * m.Rank;
        var ax = t_rankSpace is { } buffer && buffer.Length >= need ? buffer : t_rankSpace = new float[Math.Max(need, 256)];
        LowRankProduct.Shrink(x, m.In, rows, m.A, m.Rank, m.Scale, ax, pool);
        LowRankProduct.Expand(ax, m.Rank, m.BTransposed, m.Out, rows, y, pool);
        if (m.DoraFactor is { } f)
            foreach (int r in rows)
            {
                var yr = y.Slice(r * m.Out, m.Out);
                for (int o = 0; o < yr.Length; o++) yr[o] *= f[o];
            }
    }

    /// <summary>The module on all <paramref name="tokens"/> rows of x [T, in] and y [T, out].</summary>
    public static void Add(LoraModule m, ReadOnlySpan<float> x, Span<float> y, int tokens, WorkerPool? pool = null) =>
        Add(m, x, y, Contiguous(tokens), pool);

    /// <summary>Adds each segment's module (null = base only) to its rows.</summary>
    /// <param name="x">[tokens, in] input of the linear.</param>
    /// <param name="y">[tokens, out] base output, updated in place.</param>
    public static void AddSegments(ReadOnlySpan<float> x, Span<float> y, int inDim, int outDim, ReadOnlySpan<AdapterSegment> segments,
        Func<AdapterSegment, LoraModule?> moduleOf)
    {
        foreach (var seg in segments)
        {
            var m = moduleOf(seg);
            if (m is null) continue;
            Add(m, x.Slice(seg.Start * inDim, seg.Count * inDim), y.Slice(seg.Start * outDim, seg.Count * outDim), seg.Count);
        }
    }

    private static ReadOnlySpan<int> Contiguous(int count)
    {
        if (t_contiguous is not { } rows || rows.Length < count)
        {
            t_contiguous = rows = new int[Math.Max(count, 64)];
            for (int i = 0; i < rows.Length; i++) rows[i] = i;
        }
        return rows.AsSpan(0, count);
    }
}

/// <summary>Rows [Start, Start+Count) of a forward batch that use adapter slot <see cref="Adapter"/> (null = base model).</summary>
public readonly record struct AdapterSegment(int Start, int Count, LoraAdapter? Adapter);
