namespace Scion.Tensors.Gemm;

/// <summary>
/// Per-thread pinned buffers of the packed GEMM, apart from <see cref="Cpu.ThreadScratch"/>: the caller of a
/// product holds its rounded activations there while these hold the packed copy, and a worker item's widened weight
/// block and output tile must not overwrite either when the caller runs items itself.
/// </summary>
internal static unsafe class GemmScratch
{
    [ThreadStatic] private static byte[]? t_panels;
    [ThreadStatic] private static byte[]? t_block;
    [ThreadStatic] private static byte[]? t_tile;
    [ThreadStatic] private static byte[]? t_row;
    [ThreadStatic] private static byte[]? t_partials;

    /// <summary>The caller's activations packed into token panels, read by every item of the run.</summary>
    public static float* Panels(long floats) => Get(ref t_panels, floats * sizeof(float));

    /// <summary>An item's weight rows widened to fp32, columns in lane order.</summary>
    public static float* Block(long floats) => Get(ref t_block, floats * sizeof(float));

    /// <summary>One weight row widened in column order, before it is reordered into the block.</summary>
    public static float* Row(long floats) => Get(ref t_row, floats * sizeof(float));

    /// <summary>An item's per-lane partial sums for one token panel [lanes, rows, 64].</summary>
    public static float* Partials(long floats) => Get(ref t_partials, floats * sizeof(float));

    /// <summary>An item's output tile [rows, padded tokens].</summary>
    public static float* Tile(long floats) => Get(ref t_tile, floats * sizeof(float));

    private static float* Get(ref byte[]? slot, long bytes)
    {
        if (slot is null || slot.Length < bytes + 64)
        {
            long size = Math.Max(bytes + 64, (slot?.Length ?? 0) * 2L);
            slot = GC.AllocateUninitializedArray<byte>(checked((int)size), pinned: true);
        }
        // Pinned arrays never move; 64-byte alignment keeps every vector load inside one cache line.
        fixed (byte* p = slot)
        {
            return (float*)(((nint)p + 63) & ~(nint)63);
        }
    }
}
