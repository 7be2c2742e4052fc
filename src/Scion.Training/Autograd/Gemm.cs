using System.Numerics;

namespace Scion.Training.Autograd;

/// <summary>
/// fp32 matrix products for the tape, split over output tiles with <see cref="Parallel.For(int, int, Action{int})"/>.
/// Every output element is produced by one task in a fixed summation order, so results are
/// bitwise reproducible whatever the thread count (gradient checkpointing relies on that).
/// Placeholder until the kernels' worker pool and tiled GEMMs are plugged in.
/// </summary>
internal static unsafe partial class Gemm
{
    // Below this many multiply-adds a task costs more than it saves.
    private const long SerialWork = 1 << 15;
    private const int ColumnTile = 256;

    /// <summary>y[m, n] (+)= Σ_k x[m, k] w[n, k]. x [M, K], w [N, K], y [M, N].</summary>
    public static void XWt(float* x, float* w, float* y, int m, int n, int k, bool accumulate)
    {
        int tilesN = (n + 63) / 64;
        nint px = (nint)x, pw = (nint)w, py = (nint)y;
        void Tile(int index)
        {
            int row = index / tilesN, n0 = index % tilesN * 64, n1 = Math.Min(n, n0 + 64);
            float* xr = (float*)px + (long)row * k;
            float* yr = (float*)py + (long)row * n;
            for (int j = n0; j < n1; j++)
            {
                float dot = Dot(xr, (float*)pw + (long)j * k, k);
                yr[j] = accumulate ? yr[j] + dot : dot;
            }
        }
        Run(m * tilesN, (long)m * n * k, Tile);
    }

    /// <summary>dx[m, :] += Σ_n dy[m, n] w[n, :]. dy [M, N], w [N, K], dx [M, K].</summary>
    public static void AccXW(float* dy, float* w, float* dx, int m, int n, int k)
    {
        int tilesK = (k + ColumnTile - 1) / ColumnTile;
        nint pdy = (nint)dy, pw = (nint)w, pdx = (nint)dx;
        void Tile(int index)
        {
            int row = index / tilesK, k0 = index % tilesK * ColumnTile, len = Math.Min(k, k0 + ColumnTile) - k0;
            float* dyr = (float*)pdy + (long)row * n;
            float* dxr = (float*)pdx + (long)row * k + k0;
            for (int j = 0; j < n; j++)
            {
                float a = dyr[j];
                if (a != 0f) Axpy(a, (float*)pw + (long)j * k + k0, dxr, len);
            }
        }
        Run(m * tilesK, (long)m * n * k, Tile);
    }

    /// <summary>dw[n, :] += Σ_m dy[m, n] x[m, :]. dy [M, N], x [M, K], dw [N, K].</summary>
    public static void AccDyTX(float* dy, float* x, float* dw, int m, int n, int k)
    {
        int tilesK = (k + ColumnTile - 1) / ColumnTile;
        nint pdy = (nint)dy, px = (nint)x, pdw = (nint)dw;
        void Tile(int index)
        {
            int col = index / tilesK, k0 = index % tilesK * ColumnTile, len = Math.Min(k, k0 + ColumnTile) - k0;
            float* dwr = (float*)pdw + (long)col * k + k0;
            for (int i = 0; i < m; i++)
            {
                float a = ((float*)pdy)[(long)i * n + col];
                if (a != 0f) Axpy(a, (float*)px + (long)i * k + k0, dwr, len);
            }
        }
        Run(n * tilesK, (long)m * n * k, Tile);
    }

    private static void Run(int tasks, long work, Action<int> body)
    {
        if (work < SerialWork || tasks == 1)
        {
            for (int i = 0; i < tasks; i++) body(i);
        }
        else
        {
            Parallel.For(0, tasks, body);
        }
    }

    public static float Dot(float* a, float* b, int n)
    {
        int i = 0;
        float sum = 0f;
        if (Vector.IsHardwareAccelerated && n >= Vector<float>.Count)
        {
            var acc0 = Vector<float>.Zero;
            var acc1 = Vector<float>.Zero;
            int w = Vector<float>.Count;
            for (; i <= n - 2 * w; i += 2 * w)
            {
                acc0 += Vector.Load(a + i) * Vector.Load(b + i);
                acc1 += Vector.Load(a + i + w) * Vector.Load(b + i + w);
            }
            for (; i <= n - w; i += w) acc0 += Vector.Load(a + i) * Vector.Load(b + i);
            sum = Vector.Sum(acc0 + acc1);
        }
        for (; i < n; i++) sum += a[i] * b[i];
        return sum;
    }

    /// <summary>y += a·x over n elements.</summary>
    public static void Axpy(float a, float* x, float* y, int n)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var va = new Vector<float>(a);
            int w = Vector<float>.Count;
            for (; i <= n - w; i += w) Vector.Store(Vector.Load(y + i) + va * Vector.Load(x + i), y + i);
        }
        for (; i < n; i++) y[i] += a * x[i];
    }
}
