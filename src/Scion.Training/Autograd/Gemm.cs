using System.Numerics;
using Scion.Tensors;

namespace Scion.Training.Autograd;

/// <summary>
/// fp32 matrix products for the tape, run on a <see cref="WorkerPool"/> as struct jobs (no closures). Work items own
/// disjoint output tiles and every output element is summed in one fixed order (<see cref="PanelKernel"/>; k is cut
/// into fixed chunks), so results are bitwise the same for any thread count: gradient checkpointing and
/// bit-identical resume rely on that.
/// </summary>
internal static unsafe partial class Gemm
{
    // Below this many multiply-adds a parallel run costs more than it saves.
    private const long SerialWork = 1 << 16;
    // Output tiles of AccumulateAB: TileRows × PanelCols, the k sum cut into KChunk-long pieces that stay in L1/L2.
    private const int TileRows = 64;
    private const int PanelCols = 256;
    internal const int KChunk = 256;
    // Below this inner length, y = x wᵀ runs as x · (wᵀ) through the panel kernel instead of dot products.
    private const int ShortK = 32;
    // Up to this many outputs per row, y = x wᵀ also goes through wᵀ and the panel kernel.
    private const int NarrowN = 64;

    /// <summary>c[m, n] += a[m, k] b[k, n]; rows lda, ldb, ldc floats apart.</summary>
    public static void AccumulateAB(WorkerPool pool, float* a, int lda, float* b, int ldb, float* c, int ldc, int m, int n, int k)
    {
        if (m <= 0 || n <= 0 || k <= 0) return;
        var job = new AccumulateJob { A = a, Lda = lda, B = b, Ldb = ldb, C = c, Ldc = ldc, M = m, N = n, K = k, Panels = (n + PanelCols - 1) / PanelCols };
        int items = (m + TileRows - 1) / TileRows * job.Panels;
        RunJob(pool, items, (long)m * n * k, ref job);
    }

    /// <summary>y[m, n] (+)= Σ_k x[m, k] w[n, k]. x [M, K], w [N, K], y [M, N].</summary>
    public static void XWt(WorkerPool pool, float* x, float* w, float* y, int m, int n, int k, bool accumulate)
    {
        if (!accumulate) new Span<float>(y, checked(m * n)).Clear();
        if (k <= ShortK || n <= NarrowN)
        {
            // Short dot products waste the vector units, and a narrow output (a LoRA rank) gives the panel kernel
            // four independent rows per tile: multiply by wᵀ [K, N] (small when either side is) instead.
            var wt = Transpose(w, n, k); // [K, N]
            fixed (float* pwt = wt) AccumulateAB(pool, x, k, pwt, n, y, n, m, n, k);
            return;
        }
        var job = new DotJob { X = x, W = w, Y = y, M = m, N = n, K = k, TilesN = (n + 63) / 64 };
        RunJob(pool, m * job.TilesN, (long)m * n * k, ref job);
    }

    /// <summary>dx[m, :] += Σ_n dy[m, n] w[n, :]. dy [M, N], w [N, K], dx [M, K].</summary>
    public static void AccXW(WorkerPool pool, float* dy, float* w, float* dx, int m, int n, int k)
    {
        AccumulateAB(pool, dy, n, w, k, dx, k, m, k, n);
    }

    /// <summary>dw[n, :] += Σ_m dy[m, n] x[m, :]. dy [M, N], x [M, K], dw [N, K].</summary>
    public static void AccDyTX(WorkerPool pool, float* dy, float* x, float* dw, int m, int n, int k)
    {
        if (k < n)
        {
            // Transpose the smaller operand. Narrow dw (a LoRA B [out, r]): form dwᵀ [K, N] = xᵀ dy with wide
            // panels from the small xᵀ, then add it transposed.
            var xt = Transpose(x, m, k);           // [K, M]
            var dwt = new float[checked(k * n)];   // [K, N]
            fixed (float* pxt = xt, pdwt = dwt)
            {
                AccumulateAB(pool, pxt, m, dy, n, pdwt, n, k, n, m);
                for (int r = 0; r < n; r++)
                    for (int c = 0; c < k; c++) dw[(long)r * k + c] += pdwt[(long)c * n + r];
            }
            return;
        }
        var dyt = Transpose(dy, m, n); // [N, M]
        fixed (float* pdyt = dyt) AccumulateAB(pool, pdyt, m, x, k, dw, k, n, k, m);
    }

    /// <summary>src [rows, cols] → [cols, rows].</summary>
    public static float[] Transpose(float* src, int rows, int cols)
    {
        var dst = GC.AllocateUninitializedArray<float>(checked(rows * cols));
        const int B = 32;
        fixed (float* d = dst)
            for (int r0 = 0; r0 < rows; r0 += B)
                for (int c0 = 0; c0 < cols; c0 += B)
                {
                    int r1 = Math.Min(rows, r0 + B), c1 = Math.Min(cols, c0 + B);
                    for (int r = r0; r < r1; r++)
                        for (int c = c0; c < c1; c++) d[(long)c * rows + r] = src[(long)r * cols + c];
                }
        return dst;
    }

    /// <summary>Runs the items on the pool, or inline when the work (multiply-adds or elements) is too small to share.</summary>
    internal static void RunJob<T>(WorkerPool pool, int items, long work, ref T job) where T : struct, IParallelJob
    {
        if (work < SerialWork || items == 1)
        {
            for (int i = 0; i < items; i++) job.Execute(i);
        }
        else
        {
            pool.Run(items, ref job);
        }
    }

    private struct AccumulateJob : IParallelJob
    {
        public float* A, B, C;
        public int Lda, Ldb, Ldc, M, N, K, Panels;

        public readonly void Execute(int item)
        {
            int i0 = item / Panels * TileRows, j0 = item % Panels * PanelCols;
            int rows = Math.Min(M - i0, TileRows), cols = Math.Min(N - j0, PanelCols);
            for (int p0 = 0; p0 < K; p0 += KChunk)
                PanelKernel.Accumulate(A + (long)i0 * Lda + p0, Lda, B + (long)p0 * Ldb + j0, Ldb, C + (long)i0 * Ldc + j0, Ldc,
                    rows, cols, Math.Min(KChunk, K - p0));
        }
    }

    private struct DotJob : IParallelJob
    {
        public float* X, W, Y;
        public int M, N, K, TilesN;

        public readonly void Execute(int index)
        {
            int row = index / TilesN, n0 = index % TilesN * 64, n1 = Math.Min(N, n0 + 64);
            float* xr = X + (long)row * K;
            float* yr = Y + (long)row * N;
            for (int j = n0; j < n1; j++) yr[j] += Dot(xr, W + (long)j * K, K);
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
