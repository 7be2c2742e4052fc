using Scion.Tensors;

namespace Scion.Training.Autograd;

/// <summary>An fp32 <see cref="IFrozenWeight"/> over a row-major array; the reference implementation for tests.</summary>
public sealed class DenseFrozenWeight : IFrozenWeight
{
    private readonly float[] _weight; // [rows, cols]

    public DenseFrozenWeight(float[] weight, int rows, int cols)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (rows <= 0 || cols <= 0 || (long)rows * cols != weight.Length)
            throw new ArgumentException($"Frozen weight [{rows}, {cols}] needs {(long)rows * cols} values but has {weight.Length}.", nameof(weight));
        _weight = weight;
        Rows = rows;
        Cols = cols;
    }

    public int Rows { get; }
    public WorkerPool Pool { get; set; } = WorkerPool.Shared;
    public int Cols { get; }

    public unsafe void Forward(ReadOnlySpan<float> x, Span<float> y, int tokens)
    {
        Check(x.Length, tokens * Cols, "x");
        Check(y.Length, tokens * Rows, "y");
        fixed (float* px = x, pw = _weight, py = y)
            Gemm.XWt(Pool, px, pw, py, tokens, Rows, Cols, accumulate: false);
    }

    public unsafe void BackwardInput(ReadOnlySpan<float> dy, Span<float> dx, int tokens)
    {
        Check(dy.Length, tokens * Rows, "dy");
        Check(dx.Length, tokens * Cols, "dx");
        fixed (float* pdy = dy, pw = _weight, pdx = dx)
            Gemm.AccXW(Pool, pdy, pw, pdx, tokens, Rows, Cols);
    }

    public void DequantizeRow(int row, Span<float> dst)
    {
        if ((uint)row >= (uint)Rows) throw new ArgumentOutOfRangeException(nameof(row), $"Row {row} is outside [0, {Rows}).");
        _weight.AsSpan(row * Cols, Cols).CopyTo(dst);
    }

    private static void Check(int actual, int expected, string name)
    {
        if (actual < expected)
            throw new ArgumentException($"Buffer '{name}' holds {actual} values; {expected} are needed.", name);
    }
}
