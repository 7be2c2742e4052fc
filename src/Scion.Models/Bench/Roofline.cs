using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Scion.Tensors;
using Scion.Tensors.Packed;

namespace Scion.Models.Bench;

/// <summary>
/// The machine's two ceilings for a given thread count, measured with the same <see cref="WorkerPool"/> the model
/// uses: memory read bandwidth (decode streams every weight once per token) and fp32 FMA throughput (prefill is
/// matrix-matrix work). Each measurement is repeated; callers take the best and the spread.
/// </summary>
public static unsafe class Roofline
{
    /// <summary>GB/s (1e9 bytes) of summing a buffer far larger than the caches, once per repetition.</summary>
    public static double[] MeasureBandwidth(WorkerPool pool, long bytes = 1L << 30, int repetitions = 5)
    {
        const long chunk = 8L << 20; // 8 MiB per work item: big enough to stream, small enough to balance threads
        bytes = Math.Max(chunk, bytes / chunk * chunk);
        // On huge pages where the system gives them, as the packed weight copies and the page cache of a large
        // model file get them: with 4 KiB pages the pass pays a TLB miss every 4 KiB that decode does not, and
        // read 10-20 % less than the machine can.
        var buffer = (float*)NativeMemory.AlignedAlloc((nuint)bytes, (nuint)MemoryAdvice.HugePageBytes);
        if (MemoryAdvice.UseHugePages) MemoryAdvice.PreferHugePages(buffer, bytes);
        try
        {
            // Touch every page first, so the timing reads memory instead of faulting pages in.
            new Span<byte>(buffer, (int)Math.Min(bytes, int.MaxValue)).Fill(1);
            for (long off = int.MaxValue; off < bytes; off += int.MaxValue)
                new Span<byte>((byte*)buffer + off, (int)Math.Min(bytes - off, int.MaxValue)).Fill(1);
            // Give every 4 KiB page distinct bytes: a hypervisor that merges identical pages (KSM) would otherwise back
            // the whole buffer with one cached page, and the pass would read the cache instead of memory (passes of
            // 65-68 GB/s on a VM whose memory streams at 36 were seen before this).
            for (long off = 0; off < bytes; off += 4096) *(long*)((byte*)buffer + off) = off;
            int items = (int)(bytes / chunk);
            var sums = new float[items];
            fixed (float* s = sums)
            {
                var job = new SumJob { Data = buffer, FloatsPerItem = chunk / sizeof(float), Sums = s };
                pool.Run(items, ref job); // warm-up
                var result = new double[repetitions];
                for (int r = 0; r < repetitions; r++)
                {
                    long t0 = Stopwatch.GetTimestamp();
                    pool.Run(items, ref job);
                    double seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
                    result[r] = bytes / seconds / 1e9;
                }
                return result;
            }
        }
        finally
        {
            NativeMemory.AlignedFree(buffer);
        }
    }

    /// <summary>GFLOP/s (2 per fused multiply-add lane) of independent FMA chains on every thread, once per repetition.</summary>
    public static double[] MeasureFmaPeak(WorkerPool pool, int repetitions = 5, long iterationsPerItem = 2_000_000)
    {
        int items = pool.ThreadCount * 4;
        var sink = new float[items];
        fixed (float* s = sink)
        {
            var job = new FmaJob { Iterations = iterationsPerItem / 10, Sink = s };
            pool.Run(items, ref job); // warm-up (and JIT)
            job.Iterations = iterationsPerItem;
            var result = new double[repetitions];
            for (int r = 0; r < repetitions; r++)
            {
                long t0 = Stopwatch.GetTimestamp();
                pool.Run(items, ref job);
                double seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
                result[r] = items * (double)iterationsPerItem * FmaFlopsPerIteration / seconds / 1e9;
            }
            return result;
        }
    }

    /// <summary>Accumulators in the FMA loop: enough independent chains to cover FMA latency × ports (4 × 2 on current x86).</summary>
    internal const int FmaChains = 12;

    /// <summary>FLOPs one FMA loop iteration performs on the widest vectors available.</summary>
    internal static int FmaFlopsPerIteration => FmaChains * 2 * (Vector512.IsHardwareAccelerated && Avx512F.IsSupported ? 16
        : Fma.IsSupported ? 8 : 1);

    /// <summary>Sum of a buffer, vectorized; see <see cref="SumScalar"/>.</summary>
    internal static float Sum(float* p, long n)
    {
        long i = 0;
        if (Vector512.IsHardwareAccelerated && n >= 64)
        {
            // Four independent accumulators keep several loads in flight.
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i + 64 <= n; i += 64)
            {
                a0 += Vector512.Load(p + i);
                a1 += Vector512.Load(p + i + 16);
                a2 += Vector512.Load(p + i + 32);
                a3 += Vector512.Load(p + i + 48);
            }
            float s = Vector512.Sum((a0 + a1) + (a2 + a3));
            for (; i < n; i++) s += p[i];
            return s;
        }
        if (Vector256.IsHardwareAccelerated && n >= 32)
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i + 32 <= n; i += 32)
            {
                a0 += Vector256.Load(p + i);
                a1 += Vector256.Load(p + i + 8);
                a2 += Vector256.Load(p + i + 16);
                a3 += Vector256.Load(p + i + 24);
            }
            float s = Vector256.Sum((a0 + a1) + (a2 + a3));
            for (; i < n; i++) s += p[i];
            return s;
        }
        return SumScalar(p, n);
    }

    /// <summary>The scalar twin of <see cref="Sum"/>.</summary>
    internal static float SumScalar(float* p, long n)
    {
        float s = 0;
        for (long i = 0; i < n; i++) s += p[i];
        return s;
    }

    private struct SumJob : IParallelJob
    {
        public float* Data;
        public long FloatsPerItem;
        public float* Sums;

        public readonly void Execute(int index) => Sums[index] = Sum(Data + index * FloatsPerItem, FloatsPerItem);
    }

    private struct FmaJob : IParallelJob
    {
        public long Iterations;
        public float* Sink;

        public readonly void Execute(int index) => Sink[index] = FmaLoop(Iterations, 1f + index * 1e-7f);
    }

    /// <summary>
    /// <see cref="FmaChains"/> independent chains acc = acc·m + c; m just below 1 and c small keep values finite and
    /// normal for any iteration count. Returns a value depending on every chain so nothing is optimized away.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static float FmaLoop(long iterations, float seed)
    {
        if (Vector512.IsHardwareAccelerated && Avx512F.IsSupported)
        {
            var m = Vector512.Create(0.999999f);
            var c = Vector512.Create(1e-6f);
            Vector512<float> a0 = Vector512.Create(seed), a1 = a0 + c, a2 = a1 + c, a3 = a2 + c, a4 = a3 + c, a5 = a4 + c,
                a6 = a5 + c, a7 = a6 + c, a8 = a7 + c, a9 = a8 + c, a10 = a9 + c, a11 = a10 + c;
            for (long i = 0; i < iterations; i++)
            {
                a0 = Avx512F.FusedMultiplyAdd(a0, m, c); a1 = Avx512F.FusedMultiplyAdd(a1, m, c);
                a2 = Avx512F.FusedMultiplyAdd(a2, m, c); a3 = Avx512F.FusedMultiplyAdd(a3, m, c);
                a4 = Avx512F.FusedMultiplyAdd(a4, m, c); a5 = Avx512F.FusedMultiplyAdd(a5, m, c);
                a6 = Avx512F.FusedMultiplyAdd(a6, m, c); a7 = Avx512F.FusedMultiplyAdd(a7, m, c);
                a8 = Avx512F.FusedMultiplyAdd(a8, m, c); a9 = Avx512F.FusedMultiplyAdd(a9, m, c);
                a10 = Avx512F.FusedMultiplyAdd(a10, m, c); a11 = Avx512F.FusedMultiplyAdd(a11, m, c);
            }
            return Vector512.Sum(((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11)));
        }
        if (Fma.IsSupported)
        {
            var m = Vector256.Create(0.999999f);
            var c = Vector256.Create(1e-6f);
            Vector256<float> a0 = Vector256.Create(seed), a1 = a0 + c, a2 = a1 + c, a3 = a2 + c, a4 = a3 + c, a5 = a4 + c,
                a6 = a5 + c, a7 = a6 + c, a8 = a7 + c, a9 = a8 + c, a10 = a9 + c, a11 = a10 + c;
            for (long i = 0; i < iterations; i++)
            {
                a0 = Fma.MultiplyAdd(a0, m, c); a1 = Fma.MultiplyAdd(a1, m, c);
                a2 = Fma.MultiplyAdd(a2, m, c); a3 = Fma.MultiplyAdd(a3, m, c);
                a4 = Fma.MultiplyAdd(a4, m, c); a5 = Fma.MultiplyAdd(a5, m, c);
                a6 = Fma.MultiplyAdd(a6, m, c); a7 = Fma.MultiplyAdd(a7, m, c);
                a8 = Fma.MultiplyAdd(a8, m, c); a9 = Fma.MultiplyAdd(a9, m, c);
                a10 = Fma.MultiplyAdd(a10, m, c); a11 = Fma.MultiplyAdd(a11, m, c);
            }
            return Vector256.Sum(((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11)));
        }
        return FmaLoopScalar(iterations, seed);
    }

    /// <summary>The scalar twin of <see cref="FmaLoop"/>: one lane of each chain (every lane computes the same).</summary>
    internal static float FmaLoopScalar(long iterations, float seed)
    {
        const float m = 0.999999f, c = 1e-6f;
        var a = new float[FmaChains];
        a[0] = seed;
        for (int k = 1; k < FmaChains; k++) a[k] = a[k - 1] + c;
        for (long i = 0; i < iterations; i++)
            for (int k = 0; k < FmaChains; k++) a[k] = MathF.FusedMultiplyAdd(a[k], m, c);
        int lanes = Vector512.IsHardwareAccelerated && Avx512F.IsSupported ? 16 : Fma.IsSupported ? 8 : 1;
        return a.Sum() * lanes;
    }
}
