using Scion.Tensors.Cpu;
using Scion.Tensors.Reference;

namespace Scion.Tensors;

/// <summary>fp32 row → stored type, following llama.cpp's reference quantizers (no importance matrix).</summary>
public static unsafe class Quantize
{
    /// <summary>Types <see cref="Row"/> can write.</summary>
    public static bool CanQuantizeTo(GgmlType type) => type is GgmlType.F32 or GgmlType.F16 or GgmlType.BF16
        or GgmlType.Q8_0 or GgmlType.Q4_0 or GgmlType.Q4_K or GgmlType.Q6_K;

    /// <summary>Encodes all of <paramref name="src"/> (a whole number of blocks) into <paramref name="dst"/>.</summary>
    public static void Row(GgmlType type, ReadOnlySpan<float> src, Span<byte> dst)
    {
        if (!CanQuantizeTo(type)) throw new NotSupportedException($"Quantizing to {type} is not supported.");
        long need = GgmlTypeInfo.RowBytes(type, src.Length);
        if (dst.Length < need) throw new ArgumentException($"{src.Length} values as {type} need {need} bytes, got {dst.Length}.");
        fixed (float* s = src) fixed (byte* d = dst) ReferenceQuantize.Row(type, s, d, src.Length);
    }

    /// <summary>Encodes a whole matrix <paramref name="src"/> [rows, cols] row by row into <paramref name="dst"/>
    /// [rows, RowBytes(type, cols)], rows spread over the pool (the K-quant searches are the slow part of `scion quantize`).</summary>
    public static void Rows(GgmlType type, ReadOnlySpan<float> src, int cols, Span<byte> dst, WorkerPool? pool = null)
    {
        if (!CanQuantizeTo(type)) throw new NotSupportedException($"Quantizing to {type} is not supported.");
        if (cols <= 0 || src.Length % cols != 0) throw new ArgumentException($"{src.Length} values are not whole rows of {cols}.");
        long rowBytes = GgmlTypeInfo.RowBytes(type, cols);
        int rows = src.Length / cols;
        if (dst.Length < rowBytes * rows) throw new ArgumentException($"[{rows}, {cols}] as {type} needs {rowBytes * rows} bytes, got {dst.Length}.");
        fixed (float* s = src) fixed (byte* d = dst)
        {
            var job = new RowsJob { Src = s, Dst = d, Cols = cols, RowBytes = rowBytes, Type = type };
            (pool ?? WorkerPool.Shared).Run(rows, ref job);
        }
    }

    private struct RowsJob : IParallelJob
    {
        public float* Src;      // [rows, cols]
        public byte* Dst;       // [rows, RowBytes]
        public int Cols;
        public long RowBytes;
        public GgmlType Type;

        public readonly void Execute(int r) => ReferenceQuantize.Row(Type, Src + (long)r * Cols, Dst + r * RowBytes, Cols);
    }
}
