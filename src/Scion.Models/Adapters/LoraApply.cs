using Scion.Tensors;

namespace Scion.Models.Adapters;

/// <summary>
/// Adds each segment's adapter to a base linear output (S-LoRA/Punica's segmented gather: rows of one batch use
/// different adapters, and the base product W·x is computed once for all of them).
/// </summary>
public static class LoraApply
{
    /// <param name="x">[tokens, in] input of the linear.</param>
    /// <param name="y">[tokens, out] base output, updated in place.</param>
    /// <param name="segments">Runs of consecutive rows that share one adapter module (null module = base only).</param>
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

    /// <summary>y[t] = DoRA? factor ⊙ (y[t] + s·B A x[t]) : y[t] + s·B A x[t].</summary>
    public static void Add(LoraModule m, ReadOnlySpan<float> x /*[T, in]*/, Span<float> y /*[T, out]*/, int tokens)
    {
        int r = m.Rank;
        Span<float> ax = r <= 256 ? stackalloc float[r] : new float[r]; // [r]
        for (int t = 0; t < tokens; t++)
        {
            var xr = x.Slice(t * m.In, m.In);
            for (int j = 0; j < r; j++) ax[j] = Ops.Dot(m.A.AsSpan(j * m.In, m.In), xr) * m.Scale;
            var yr = y.Slice(t * m.Out, m.Out);
            for (int o = 0; o < m.Out; o++) yr[o] += Ops.Dot(m.B.AsSpan(o * r, r), ax);
            if (m.DoraFactor is { } f)
                for (int o = 0; o < m.Out; o++) yr[o] *= f[o];
        }
    }
}

/// <summary>Rows [Start, Start+Count) of a forward batch that use adapter slot <see cref="Adapter"/> (null = base model).</summary>
public readonly record struct AdapterSegment(int Start, int Count, LoraAdapter? Adapter);
