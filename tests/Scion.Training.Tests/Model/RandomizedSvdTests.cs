using Scion.Training.Peft;

namespace Scion.Training.Tests.Model;

public class RandomizedSvdTests
{
    [Fact]
    public void RecoversTopSingularTripletsOfAConstructedMatrix()
    {
        const int m = 48, n = 32, r = 4;
        var rng = new Xoshiro256(2);
        // W = Q1 diag(s) Q2ᵀ with known, decaying singular values.
        double[] q1 = Orthonormal(rng, m, n), q2 = Orthonormal(rng, n, n);
        var s = Enumerable.Range(0, n).Select(i => 10.0 * Math.Pow(0.7, i)).ToArray();
        var w = new float[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double v = 0;
                for (int k = 0; k < n; k++) v += q1[i * n + k] * s[k] * q2[j * n + k];
                w[i * n + j] = (float)v;
            }
        var svd = RandomizedSvd.Compute(w, m, n, r, iterations: 6, seed: 9);
        for (int k = 0; k < r; k++)
        {
            Assert.InRange(svd.S[k], s[k] * (1 - 1e-4), s[k] * (1 + 1e-4));
            // Singular vectors up to sign.
            double du = 0, dv = 0;
            for (int i = 0; i < m; i++) du += svd.U[i * r + k] * q1[i * n + k];
            for (int j = 0; j < n; j++) dv += svd.V[j * r + k] * q2[j * n + k];
            Assert.InRange(Math.Abs(du), 1 - 1e-4, 1 + 1e-4);
            Assert.InRange(du * dv, 1 - 1e-4, 1 + 1e-4);
        }
    }

    private static double[] Orthonormal(Xoshiro256 rng, int rows, int k)
    {
        var x = new double[rows * k];
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextGaussian();
        RandomizedSvd.Orthonormalize(x, rows, k);
        return x;
    }
}
