using Scion.Tensors;

namespace Scion.Training.Autograd;

internal static unsafe partial class Gemm
{
    /// <summary>y (+)= x wᵀ. x [M, K], w [N, K], y [M, N].</summary>
    public static void XWt(WorkerPool pool, ReadOnlySpan<float> x, ReadOnlySpan<float> w, Span<float> y, int m, int n, int k, bool accumulate)
    {
        Check(x, (long)m * k, w, (long)n * k, y, (long)m * n);
        fixed (float* px = x, pw = w, py = y) XWt(pool, px, pw, py, m, n, k, accumulate);
    }

    /// <summary>dx += dy w. dy [M, N], w [N, K], dx [M, K].</summary>
    public static void AccXW(WorkerPool pool, ReadOnlySpan<float> dy, ReadOnlySpan<float> w, Span<float> dx, int m, int n, int k)
    {
        Check(dy, (long)m * n, w, (long)n * k, dx, (long)m * k);
        fixed (float* pdy = dy, pw = w, pdx = dx) AccXW(pool, pdy, pw, pdx, m, n, k);
    }

    /// <summary>dw += dyᵀ x. dy [M, N], x [M, K], dw [N, K].</summary>
    public static void AccDyTX(WorkerPool pool, ReadOnlySpan<float> dy, ReadOnlySpan<float> x, Span<float> dw, int m, int n, int k)
    {
        Check(dy, (long)m * n, x, (long)m * k, dw, (long)n * k);
        fixed (float* pdy = dy, px = x, pdw = dw) AccDyTX(pool, pdy, px, pdw, m, n, k);
    }

    private static void Check(ReadOnlySpan<float> a, long na, ReadOnlySpan<float> b, long nb, ReadOnlySpan<float> c, long nc)
    {
        if (a.Length < na || b.Length < nb || c.Length < nc)
            throw new ArgumentException($"GEMM operands hold {a.Length}, {b.Length}, {c.Length} values; {na}, {nb}, {nc} are needed.");
    }
}
