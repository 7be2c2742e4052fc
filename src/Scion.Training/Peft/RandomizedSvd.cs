using Scion.Tensors;

namespace Scion.Training.Peft;

/// <summary>
/// Top-r singular triplets of a dense matrix by randomized subspace iteration (Halko, Martinsson, Tropp 2011,
/// Alg. 4.4) in double precision, seeded: no LAPACK needed. Y = W Ω, then q rounds of re-orthonormalised
/// Wᵀ / W products sharpen the subspace; the small projected matrix is diagonalised with cyclic Jacobi.
/// </summary>
public static class RandomizedSvd
{
    /// <summary>The result: W ≈ U diag(S) Vᵀ with U [m, r], S [r] descending, V [n, r] (row-major).</summary>
    public sealed record Result(double[] U, double[] S, double[] V, int Rank);

    /// <param name="w">[m, n] row-major</param>
    public static Result Compute(ReadOnlySpan<float> w, int m, int n, int rank, int iterations, ulong seed, int oversample = 8)
    {
        if (rank <= 0 || rank > Math.Min(m, n)) throw new ArgumentOutOfRangeException(nameof(rank), $"Rank {rank} must be in [1, {Math.Min(m, n)}] for a [{m}, {n}] matrix.");
        if (w.Length != (long)m * n) throw new ArgumentException($"[{m}, {n}] needs {(long)m * n} values, got {w.Length}.");
        int k = Math.Min(Math.Min(m, n), rank + oversample);
        var a = new double[w.Length];
        for (int i = 0; i < a.Length; i++) a[i] = w[i];

        var rng = new Xoshiro256(seed);
        var omega = new double[(long)n * k]; // [n, k]
        for (int i = 0; i < omega.Length; i++) omega[i] = rng.NextGaussian();
        var y = MulA(a, omega, m, n, k);     // [m, k]
        Orthonormalize(y, m, k);
        for (int it = 0; it < iterations; it++)
        {
            var z = MulAt(a, y, m, n, k);   // [n, k]
            Orthonormalize(z, n, k);
            y = MulA(a, z, m, n, k);
            Orthonormalize(y, m, k);
        }
        // B = Qᵀ A [k, n]; B Bᵀ = Ũ Λ Ũᵀ; then A ≈ Q Ũ Λ^½ (Λ^-½ Ũᵀ B).
        var b = new double[(long)k * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < k; j++)
            {
                double q = y[(long)i * k + j];
                if (q == 0) continue;
                for (int c = 0; c < n; c++) b[(long)j * n + c] += q * a[(long)i * n + c];
            }
        var bbt = new double[k * k];
        for (int i = 0; i < k; i++)
            for (int j = 0; j <= i; j++)
            {
                double s = 0;
                for (int c = 0; c < n; c++) s += b[(long)i * n + c] * b[(long)j * n + c];
                bbt[i * k + j] = bbt[j * k + i] = s;
            }
        var (values, vectors) = JacobiEigen(bbt, k); // descending
        var u = new double[(long)m * rank];
        var sv = new double[rank];
        var v = new double[(long)n * rank];
        for (int r = 0; r < rank; r++)
        {
            double sigma = Math.Sqrt(Math.Max(values[r], 0));
            sv[r] = sigma;
            for (int i = 0; i < m; i++)
            {
                double s = 0;
                for (int j = 0; j < k; j++) s += y[(long)i * k + j] * vectors[j * k + r];
                u[(long)i * rank + r] = s;
            }
            for (int c = 0; c < n; c++)
            {
                double s = 0;
                for (int j = 0; j < k; j++) s += vectors[j * k + r] * b[(long)j * n + c];
                v[(long)c * rank + r] = sigma > 0 ? s / sigma : 0;
            }
        }
        return new Result(u, sv, v, rank);
    }

    // A [m, n] · X [n, k] → [m, k]
    private static double[] MulA(double[] a, double[] x, int m, int n, int k)
    {
        var y = new double[(long)m * k];
        Parallel.For(0, m, i =>
        {
            for (int c = 0; c < n; c++)
            {
                double v = a[(long)i * n + c];
                for (int j = 0; j < k; j++) y[(long)i * k + j] += v * x[(long)c * k + j];
            }
        });
        return y;
    }

    // Aᵀ [n, m] · Y [m, k] → [n, k]
    private static double[] MulAt(double[] a, double[] y, int m, int n, int k)
    {
        var z = new double[(long)n * k];
        Parallel.For(0, n, c =>
        {
            for (int i = 0; i < m; i++)
            {
                double v = a[(long)i * n + c];
                for (int j = 0; j < k; j++) z[(long)c * k + j] += v * y[(long)i * k + j];
            }
        });
        return z;
    }

    /// <summary>Modified Gram–Schmidt twice over the k columns of x [rows, k]; a dependent column becomes zero.</summary>
    internal static void Orthonormalize(double[] x, int rows, int k)
    {
        for (int pass = 0; pass < 2; pass++)
            for (int j = 0; j < k; j++)
            {
                for (int p = 0; p < j; p++)
                {
                    double dot = 0;
                    for (int i = 0; i < rows; i++) dot += x[(long)i * k + j] * x[(long)i * k + p];
                    for (int i = 0; i < rows; i++) x[(long)i * k + j] -= dot * x[(long)i * k + p];
                }
                double norm = 0;
                for (int i = 0; i < rows; i++) norm += x[(long)i * k + j] * x[(long)i * k + j];
                norm = Math.Sqrt(norm);
                double inv = norm > 1e-300 ? 1 / norm : 0;
                for (int i = 0; i < rows; i++) x[(long)i * k + j] *= inv;
            }
    }

    /// <summary>Eigen-decomposition of a symmetric k×k matrix by cyclic Jacobi; values descending, vectors as columns.</summary>
    internal static (double[] Values, double[] Vectors) JacobiEigen(double[] sym, int k)
    {
        var a = (double[])sym.Clone();
        var v = new double[k * k];
        for (int i = 0; i < k; i++) v[i * k + i] = 1;
        for (int sweep = 0; sweep < 100; sweep++)
        {
            double off = 0, diag = 0;
            for (int i = 0; i < k; i++)
                for (int j = 0; j < k; j++)
                    if (i != j) off += a[i * k + j] * a[i * k + j]; else diag += a[i * k + i] * a[i * k + i];
            if (off <= 1e-30 * Math.Max(diag, 1e-300)) break;
            for (int p = 0; p < k - 1; p++)
                for (int q = p + 1; q < k; q++)
                {
                    double apq = a[p * k + q];
                    if (apq == 0) continue;
                    double theta = (a[q * k + q] - a[p * k + p]) / (2 * apq);
                    double t = Math.Sign(theta) / (Math.Abs(theta) + Math.Sqrt(theta * theta + 1));
                    if (theta == 0) t = 1;
                    double c = 1 / Math.Sqrt(t * t + 1), s = t * c;
                    for (int r = 0; r < k; r++)
                    {
                        double arp = a[r * k + p], arq = a[r * k + q];
                        a[r * k + p] = c * arp - s * arq;
                        a[r * k + q] = s * arp + c * arq;
                    }
                    for (int r = 0; r < k; r++)
                    {
                        double apr = a[p * k + r], aqr = a[q * k + r];
                        a[p * k + r] = c * apr - s * aqr;
                        a[q * k + r] = s * apr + c * aqr;
                    }
                    for (int r = 0; r < k; r++)
                    {
                        double vrp = v[r * k + p], vrq = v[r * k + q];
                        v[r * k + p] = c * vrp - s * vrq;
                        v[r * k + q] = s * vrp + c * vrq;
                    }
                }
        }
        var order = Enumerable.Range(0, k).OrderByDescending(i => a[i * k + i]).ToArray();
        var values = order.Select(i => a[i * k + i]).ToArray();
        var vectors = new double[k * k];
        for (int r = 0; r < k; r++)
            for (int c = 0; c < k; c++) vectors[r * k + c] = v[r * k + order[c]];
        return (values, vectors);
    }
}
