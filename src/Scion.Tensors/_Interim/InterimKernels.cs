// TEMPORARY scalar stand-ins for the kernels branch (same public API); deleted when that branch merges.
using System.Runtime.InteropServices;

namespace Scion.Tensors;

public readonly unsafe struct WeightMatrix
{
    public readonly byte* Data;
    public readonly GgmlType Type;
    public readonly int Rows;
    public readonly int Cols;
    public readonly long RowBytes;

    public WeightMatrix(byte* data, GgmlType type, int rows, int cols)
    {
        Data = data; Type = type; Rows = rows; Cols = cols; RowBytes = GgmlTypeInfo.RowBytes(type, cols);
    }

    public ReadOnlySpan<byte> RowSpan(int r) => new(Data + r * RowBytes, (int)RowBytes);
}

public static class Dequantize
{
    public static void Row(GgmlType type, ReadOnlySpan<byte> src, Span<float> dst)
    {
        switch (type)
        {
            case GgmlType.F32: MemoryMarshal.Cast<byte, float>(src)[..dst.Length].CopyTo(dst); break;
            case GgmlType.F16:
                var h = MemoryMarshal.Cast<byte, Half>(src);
                for (int i = 0; i < dst.Length; i++) dst[i] = (float)h[i];
                break;
            case GgmlType.BF16:
                var b = MemoryMarshal.Cast<byte, ushort>(src);
                for (int i = 0; i < dst.Length; i++) dst[i] = BitConverter.Int32BitsToSingle(b[i] << 16);
                break;
            default: throw new NotSupportedException(type.ToString());
        }
    }
}

public sealed class WorkerPool
{
    public static WorkerPool Shared { get; } = new();
}

public static class MatMul
{
    public static void Multiply(in WeightMatrix w, ReadOnlySpan<float> x, Span<float> y, int tokens, WorkerPool? pool = null)
    {
        var row = new float[w.Cols];
        for (int r = 0; r < w.Rows; r++)
        {
            Dequantize.Row(w.Type, w.RowSpan(r), row);
            for (int t = 0; t < tokens; t++)
            {
                float s = 0;
                var xr = x.Slice(t * w.Cols, w.Cols);
                for (int c = 0; c < w.Cols; c++) s += row[c] * xr[c];
                y[t * w.Rows + r] = s;
            }
        }
    }
}

public static class Ops
{
    public static void RmsNorm(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, float eps, Span<float> dst)
    {
        double ss = 0;
        for (int i = 0; i < x.Length; i++) ss += x[i] * x[i];
        float scale = (float)(1.0 / Math.Sqrt(ss / x.Length + eps));
        for (int i = 0; i < x.Length; i++) dst[i] = x[i] * scale * weight[i];
    }

    public static void SiluMul(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> dst)
    {
        for (int i = 0; i < dst.Length; i++) dst[i] = gate[i] / (1 + MathF.Exp(-gate[i])) * up[i];
    }

    public static void Add(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> dst)
    {
        for (int i = 0; i < dst.Length; i++) dst[i] = a[i] + b[i];
    }

    public static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        float s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }

    public static void Axpy(float a, ReadOnlySpan<float> x, Span<float> y)
    {
        for (int i = 0; i < y.Length; i++) y[i] += a * x[i];
    }

    public static void Scale(Span<float> x, float s)
    {
        for (int i = 0; i < x.Length; i++) x[i] *= s;
    }
}

public static class Quantize
{
    public static void Row(GgmlType type, ReadOnlySpan<float> src, Span<byte> dst)
    {
        switch (type)
        {
            case GgmlType.F32: MemoryMarshal.Cast<float, byte>(src).CopyTo(dst); break;
            case GgmlType.F16:
                var h = MemoryMarshal.Cast<byte, Half>(dst);
                for (int i = 0; i < src.Length; i++) h[i] = (Half)src[i];
                break;
            default: throw new NotSupportedException(type.ToString());
        }
    }
}
