using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Scion.Tensors;
using Scion.Tensors.Cpu;
using Scion.Tensors.Gemm;
using Layout = Scion.Training.Autograd.Tape.AttentionLayout;

namespace Scion.Training.Autograd;

/// <summary>
/// Causal attention as blocked matrix products (FlashAttention's shape, on the CPU): a block of up to
/// <see cref="QueryBlock"/> queries of one head meets all keys of its sequence up to its last query through
/// <see cref="PanelKernel"/>: S = Q Kᵀ, P = softmax(scale·S) masked causally, O = P V. Backward recomputes P from the
/// saved log-sum-exp. Forward items are (sequence, head, query block); backward items are (sequence, KV head), each
/// the only writer of its dK and dV rows, sweeping the group's heads and query blocks in a fixed order, so every sum
/// has the same order for any thread count.
/// </summary>
internal static unsafe class AttentionKernels
{
    public const int QueryBlock = 64;

    [ThreadStatic] private static float[]? t_scratch;

    public static void Forward(WorkerPool pool, Layout l, float[] q, float[] k, float[] v, float[] y, float[] lse)
    {
        var sequences = l.Sequences();
        var items = new List<(int Seq, int Q0)>();
        for (int i = 0; i < sequences.Length; i++)
            for (int q0 = sequences[i].Start; q0 < sequences[i].End; q0 += QueryBlock) items.Add((i, q0));
        fixed (float* pq = q, pk = k, pv = v, py = y, plse = lse)
        {
            var job = new ForwardJob { L = l, Sequences = sequences, Blocks = [.. items], Q = pq, K = pk, V = pv, Y = py, Lse = plse };
            pool.Run(job.Blocks.Length * l.Heads, ref job);
        }
    }

    public static void Backward(WorkerPool pool, Layout l, float[] q, float[] k, float[] v, float[] y, float[] dy, float[] lse,
        float[] dq, float[] dk, float[] dv)
    {
        var sequences = l.Sequences();
        fixed (float* pq = q, pk = k, pv = v, py = y, pdy = dy, plse = lse, pdq = dq, pdk = dk, pdv = dv)
        {
            var job = new BackwardJob
            {
                L = l, Sequences = sequences, Q = pq, K = pk, V = pv, Y = py, Dy = pdy, Lse = plse, Dq = pdq, Dk = pdk, Dv = pdv,
            };
            pool.Run(sequences.Length * l.KvHeads, ref job);
        }
    }

    private static float[] Scratch(long floats)
    {
        var b = t_scratch;
        if (b is null || b.Length < floats) t_scratch = b = new float[floats];
        return b;
    }

    /// <summary>dst [cols, rows] = src [rows, cols] with src rows <paramref name="stride"/> floats apart; 8 × 8 register
    /// transposes where AVX has them (a plain copy of each element either way: the same values).</summary>
    private static void Transpose(float* src, int stride, int rows, int cols, float* dst)
    {
        int r8 = Avx.IsSupported ? rows / 8 * 8 : 0, c8 = Avx.IsSupported ? cols / 8 * 8 : 0;
        for (int r = 0; r < r8; r += 8)
            for (int c = 0; c < c8; c += 8) Transpose8.Block(src + (long)r * stride + c, stride, dst + (long)c * rows + r, rows);
        for (int r = 0; r < rows; r++)
        {
            float* sr = src + (long)r * stride;
            for (int c = r < r8 ? c8 : 0; c < cols; c++) dst[(long)c * rows + r] = sr[c];
        }
    }

    /// <summary>
    /// Turns raw scores S [qb, n] (row i is query q0 + i, column j key s0 + j) into probabilities in place and
    /// returns nothing; keys after the query get exactly 0. With <paramref name="lseIn"/> given per row (backward) it is
    /// used; otherwise it is computed and written to <paramref name="lseOut"/>. Exponentials are
    /// <see cref="SoftmaxExp"/>'s (each lane bitwise its scalar form); each row's sum runs in sixteen lanes then
    /// halves, the same for any thread count.
    /// </summary>
    private static void Softmax(float* s, int qb, int n, int firstCount, float scale, float* lseIn, float* lseOut, int lseStride)
    {
        bool wide = Vector512.IsHardwareAccelerated;
        for (int i = 0; i < qb; i++)
        {
            float* row = s + (long)i * n;
            int count = firstCount + i; // keys s0 .. q0 + i
            int j = 0;
            if (lseIn is not null)
            {
                float rowLse = lseIn[(long)i * lseStride];
                if (wide)
                {
                    var vs = Vector512.Create(scale);
                    var vl = Vector512.Create(rowLse);
                    for (; j + 16 <= count; j += 16) SoftmaxExp.Exp(Vector512.Load(row + j) * vs - vl).Store(row + j);
                }
                for (; j < count; j++) row[j] = SoftmaxExp.Exp(row[j] * scale - rowLse);
            }
            else
            {
                float max = float.NegativeInfinity;
                if (wide && count >= 16)
                {
                    var vs = Vector512.Create(scale);
                    var vmax = Vector512.Create(float.NegativeInfinity);
                    for (; j + 16 <= count; j += 16)
                    {
                        var sc = Vector512.Load(row + j) * vs;
                        sc.Store(row + j);
                        vmax = Vector512.Max(vmax, sc);
                    }
                    var m8 = Vector256.Max(vmax.GetLower(), vmax.GetUpper());
                    for (int l = 0; l < 8; l++) max = MathF.Max(max, m8.GetElement(l));
                }
                for (; j < count; j++)
                {
                    float sc = row[j] * scale;
                    row[j] = sc;
                    if (sc > max) max = sc;
                }
                float sum = 0f;
                j = 0;
                if (wide && count >= 16)
                {
                    var vm = Vector512.Create(max);
                    var acc = Vector512<float>.Zero;
                    for (; j + 16 <= count; j += 16)
                    {
                        var e = SoftmaxExp.Exp(Vector512.Load(row + j) - vm);
                        e.Store(row + j);
                        acc += e;
                    }
                    var h8 = acc.GetLower() + acc.GetUpper();
                    var h4 = h8.GetLower() + h8.GetUpper();
                    sum = (h4.GetElement(0) + h4.GetElement(2)) + (h4.GetElement(1) + h4.GetElement(3));
                }
                for (; j < count; j++)
                {
                    float e = SoftmaxExp.Exp(row[j] - max);
                    row[j] = e;
                    sum += e;
                }
                float inv = 1f / sum;
                j = 0;
                if (wide)
                {
                    var vi = Vector512.Create(inv);
                    for (; j + 16 <= count; j += 16) (Vector512.Load(row + j) * vi).Store(row + j);
                }
                for (; j < count; j++) row[j] *= inv;
                lseOut[(long)i * lseStride] = max + MathF.Log(sum);
            }
            for (j = count; j < n; j++) row[j] = 0f;
        }
    }

    /// <summary>dS[j] = P[j] · (dP[j] − D) · scale over one row, in place in dP (element by element: any width, same bits).</summary>
    private static void ScoreGradient(float* p, float* dp, int n, float d, float scale)
    {
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var vd = Vector512.Create(d);
            var vs = Vector512.Create(scale);
            for (; j + 16 <= n; j += 16) (Vector512.Load(p + j) * (Vector512.Load(dp + j) - vd) * vs).Store(dp + j);
        }
        for (; j < n; j++) dp[j] = p[j] * (dp[j] - d) * scale;
    }

    private struct ForwardJob : IParallelJob
    {
        public Layout L;
        public (int Start, int End)[] Sequences;
        public (int Seq, int Q0)[] Blocks;
        public float* Q, K, V, Y, Lse;

        public readonly void Execute(int item)
        {
            var (seq, q0) = Blocks[item / L.Heads];
            int h = item % L.Heads, g = h / L.GroupSize, d = L.HeadDim;
            var (s0, s1) = Sequences[seq];
            int q1 = Math.Min(s1, q0 + QueryBlock), qb = q1 - q0, n = q1 - s0;
            var scratch = Scratch((long)d * n + (long)qb * n);
            fixed (float* buf = scratch)
            {
                float* kt = buf, s = buf + (long)d * n; // Kᵀ [d, n], S/P [qb, n]
                Transpose(K + (long)s0 * L.KvWidth + g * d, L.KvWidth, n, d, kt);
                new Span<float>(s, qb * n).Clear();
                float* qBlock = Q + (long)q0 * L.QWidth + h * d;
                PanelKernel.Accumulate(qBlock, L.QWidth, kt, n, s, n, qb, n, d);
                Softmax(s, qb, n, q0 - s0 + 1, L.Scale, null, Lse + (long)q0 * L.Heads + h, L.Heads);
                float* yBlock = Y + (long)q0 * L.QWidth + h * d; // zero: a fresh output
                PanelKernel.Accumulate(s, n, V + (long)s0 * L.KvWidth + g * d, L.KvWidth, yBlock, L.QWidth, qb, d, n);
            }
        }
    }

    private struct BackwardJob : IParallelJob
    {
        public Layout L;
        public (int Start, int End)[] Sequences;
        public float* Q, K, V, Y, Dy, Lse, Dq, Dk, Dv;

        public readonly void Execute(int item)
        {
            var (s0, s1) = Sequences[item / L.KvHeads];
            int g = item % L.KvHeads, d = L.HeadDim, len = s1 - s0;
            int qbMax = Math.Min(QueryBlock, len);
            // Kᵀ, Vᵀ [d, len]; P, dS [qb, n]; Pᵀ / dSᵀ [n, qb]; D [qb].
            var scratch = Scratch(2L * d * len + 3L * qbMax * len + qbMax);
            fixed (float* buf = scratch)
            {
                float* kt = buf, vt = kt + (long)d * len, p = vt + (long)d * len, ds = p + (long)qbMax * len;
                float* tr = ds + (long)qbMax * len, dd = tr + (long)qbMax * len;
                float* kSeq = K + (long)s0 * L.KvWidth + g * d, vSeq = V + (long)s0 * L.KvWidth + g * d;
                float* dkSeq = Dk + (long)s0 * L.KvWidth + g * d, dvSeq = Dv + (long)s0 * L.KvWidth + g * d;
                Transpose(kSeq, L.KvWidth, len, d, kt);
                Transpose(vSeq, L.KvWidth, len, d, vt);
                for (int h = g * L.GroupSize; h < (g + 1) * L.GroupSize; h++)
                    for (int q0 = s0; q0 < s1; q0 += QueryBlock)
                    {
                        int q1 = Math.Min(s1, q0 + QueryBlock), qb = q1 - q0, n = q1 - s0;
                        long qOff = (long)q0 * L.QWidth + h * d;
                        float* qBlock = Q + qOff, dyBlock = Dy + qOff, yBlock = Y + qOff, dqBlock = Dq + qOff;
                        // P = exp(scale·Q Kᵀ − lse), recomputed.
                        new Span<float>(p, qb * n).Clear();
                        PanelKernel.Accumulate(qBlock, L.QWidth, kt, len, p, n, qb, n, d);
                        Softmax(p, qb, n, q0 - s0 + 1, L.Scale, Lse + (long)q0 * L.Heads + h, null, L.Heads);
                        // dP = dO Vᵀ; D_i = dO_i · O_i; dS = scale · P ⊙ (dP − D).
                        new Span<float>(ds, qb * n).Clear();
                        PanelKernel.Accumulate(dyBlock, L.QWidth, vt, len, ds, n, qb, n, d);
                        for (int i = 0; i < qb; i++)
                        {
                            dd[i] = Gemm.Dot(dyBlock + (long)i * L.QWidth, yBlock + (long)i * L.QWidth, d);
                            ScoreGradient(p + (long)i * n, ds + (long)i * n, n, dd[i], L.Scale);
                        }
                        // dQ += dS K; dV += Pᵀ dO; dK += dSᵀ Q.
                        PanelKernel.Accumulate(ds, n, kSeq, L.KvWidth, dqBlock, L.QWidth, qb, d, n);
                        Transpose(p, n, qb, n, tr);
                        PanelKernel.Accumulate(tr, qb, dyBlock, L.QWidth, dvSeq, L.KvWidth, n, d, qb);
                        Transpose(ds, n, qb, n, tr);
                        PanelKernel.Accumulate(tr, qb, qBlock, L.QWidth, dkSeq, L.KvWidth, n, d, qb);
                    }
            }
        }
    }
}
