namespace Scion.Models.Adapters;

/// <summary>
/// One adapted linear: y += Scale · B (A x). With DoRA, the adapted output is further multiplied per row by
/// <see cref="DoraFactor"/> = magnitude / ‖W + Scale·B·A‖ (row norm over the input dimension).
/// The arrays are treated as immutable once the module is used in a forward (Bᵀ is derived from B once).
/// </summary>
public sealed class LoraModule
{
    private float[]? _bTransposed;

    public required int Rank { get; init; }
    public required int In { get; init; }
    public required int Out { get; init; }
    public required float[] A { get; init; }      // [r, in]
    public required float[] B { get; init; }      // [out, r]
    public required float Scale { get; init; }
    public float[]? DoraFactor { get; init; }     // [out]

    /// <summary>[r, out]: B transposed, so the expand's outputs are contiguous vectors. Made on first use (the adapter
    /// store makes it at load time, off the engine thread, through <see cref="LoraAdapter.Prepare"/>).</summary>
    public float[] BTransposed
    {
        get
        {
            if (_bTransposed is { } done) return done;
            var t = new float[B.Length];
            for (int o = 0; o < Out; o++)
                for (int j = 0; j < Rank; j++) t[(long)j * Out + o] = B[(long)o * Rank + j];
            return Interlocked.CompareExchange(ref _bTransposed, t, null) ?? t;
        }
    }

    /// <summary>Host memory the module holds once prepared: A, B, Bᵀ and the DoRA factors, in fp32.</summary>
    public long Bytes => sizeof(float) * ((long)A.Length + 2L * B.Length + (DoraFactor?.Length ?? 0));
}
