namespace Scion.Tensors.Cpu;

/// <summary>Per-thread pinned buffers that grow and are reused, so hot paths allocate only on first use.</summary>
internal static unsafe class ThreadScratch
{
    [ThreadStatic] private static byte[]? t_activations;
    [ThreadStatic] private static byte[]? t_rows;

    /// <summary>Buffer for quantized activations of the calling thread.</summary>
    public static byte* Activations(long bytes) => Get(ref t_activations, bytes);

    /// <summary>Buffer for weight rows widened to fp32 inside a matmul item.</summary>
    public static byte* Rows(long bytes) => Get(ref t_rows, bytes);

    private static byte* Get(ref byte[]? slot, long bytes)
    {
        if (slot is null || slot.Length < bytes + 64)
        {
            long size = Math.Max(bytes + 64, (slot?.Length ?? 0) * 2L);
            slot = GC.AllocateUninitializedArray<byte>(checked((int)Math.Min(size, int.MaxValue)), pinned: true);
        }
        // Pinned arrays never move; align to 64 bytes so vector loads do not split cache lines.
        fixed (byte* p = slot)
        {
            return (byte*)(((nint)p + 63) & ~(nint)63);
        }
    }
}
