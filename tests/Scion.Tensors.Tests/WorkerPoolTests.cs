using Scion.Tensors.Cpu;

namespace Scion.Tensors.Tests;

public class WorkerPoolTests
{
    private struct CountJob : IParallelJob
    {
        public int[] Hits;
        public void Execute(int index) => Interlocked.Increment(ref Hits[index]);
    }

    private struct NestedJob : IParallelJob
    {
        public WorkerPool Pool;
        public int[] Hits;
        public void Execute(int index)
        {
            var inner = new CountJob { Hits = Hits };
            Pool.Run(Hits.Length, ref inner);   // runs inline inside a worker: must not deadlock
        }
    }

    private struct ThrowJob : IParallelJob
    {
        public void Execute(int index)
        {
            if (index == 5) throw new InvalidOperationException("item 5");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(5)]
    public void EveryItemRunsExactlyOnce(int threads)
    {
        using var pool = new WorkerPool(threads);
        for (int round = 0; round < 50; round++)
        {
            var job = new CountJob { Hits = new int[round * 3 + 1] };
            pool.Run(job.Hits.Length, ref job);
            Assert.All(job.Hits, h => Assert.Equal(1, h));
        }
    }

    [Fact]
    public void NestedRunsExecuteInline()
    {
        using var pool = new WorkerPool(3);
        var hits = new int[7];
        var job = new NestedJob { Pool = pool, Hits = hits };
        pool.Run(4, ref job);
        Assert.All(hits, h => Assert.Equal(4, h));
    }

    [Fact]
    public void ExceptionsReachTheCallerAndThePoolKeepsWorking()
    {
        using var pool = new WorkerPool(3);
        var bad = new ThrowJob();
        Assert.Throws<InvalidOperationException>(() => pool.Run(20, ref bad));
        var job = new CountJob { Hits = new int[10] };
        pool.Run(10, ref job);
        Assert.All(job.Hits, h => Assert.Equal(1, h));
    }

    [Fact]
    public void ConcurrentCallersAreSerialized()
    {
        using var pool = new WorkerPool(2);
        var totals = new int[4][];
        Parallel.For(0, 4, k =>
        {
            totals[k] = new int[100];
            for (int round = 0; round < 20; round++)
            {
                var job = new CountJob { Hits = totals[k] };
                pool.Run(100, ref job);
            }
        });
        foreach (var t in totals) Assert.All(t, h => Assert.Equal(20, h));
    }

    // Each run carries its own id; an item executed against another run's state would add the wrong id.
    private struct TaggedJob : IParallelJob
    {
        public long[] Sums;
        public int Id;
        public int ThrowAt;
        public WorkerPool? Nested;
        public void Execute(int index)
        {
            if (index == ThrowAt) throw new InvalidOperationException($"item {index} of run {Id}");
            Interlocked.Add(ref Sums[index], Id);
            if (Nested is not null && index == 1)
            {
                var inner = new CountJob { Hits = new int[3] };
                Nested.Run(3, ref inner);
                if (inner.Hits.Any(h => h != 1)) throw new InvalidOperationException("nested run lost an item");
            }
        }
    }

    [Fact]
    public void BackToBackRunsNeverMixTheirItems()
    {
        // Runs return once their items are complete, not once every worker has looked in, so workers waking late
        // meet the next run's fields: many short runs of changing sizes give them every chance to misuse a stale one
        // (a stale ticket checked against the next run's count once ran an item twice, about once in 150k runs).
        using var pool = new WorkerPool(3);
        var rng = new Random(7);
        for (int run = 1; run <= 40000; run++)
        {
            int count = rng.Next(2, 12);
            var job = new TaggedJob { Sums = new long[count], Id = run, ThrowAt = run % 11 == 0 ? rng.Next(count) : -1, Nested = run % 50 == 0 ? pool : null };
            if (job.ThrowAt >= 0)
            {
                Assert.Throws<InvalidOperationException>(() => pool.Run(count, ref job));
                for (int i = 0; i < count; i++) Assert.Equal(i == job.ThrowAt ? 0 : run, job.Sums[i]);
            }
            else
            {
                pool.Run(count, ref job);
                Assert.All(job.Sums, s => Assert.Equal(run, s));
            }
        }
    }

    [Fact]
    public void KernelSelectionParsesTheEnvironmentValue()
    {
        Assert.Equal(KernelLevel.Scalar, KernelSelection.Choose(EnvironmentSettings.ParseKernels("scalar"), KernelLevel.Avx512));
        Assert.Equal(KernelLevel.Avx2, KernelSelection.Choose(EnvironmentSettings.ParseKernels("AVX2"), KernelLevel.Avx512));
        Assert.Equal(KernelLevel.Avx2, KernelSelection.Choose(EnvironmentSettings.ParseKernels("avx512"), KernelLevel.Avx2));
        Assert.Equal(KernelLevel.Avx512, KernelSelection.Choose(EnvironmentSettings.ParseKernels(null), KernelLevel.Avx512));
        var e = Assert.Throws<EnvironmentSettingException>(() => EnvironmentSettings.ParseKernels("sse"));
        Assert.Equal("environment variable SCION_KERNELS: expected one of scalar, avx2, avx512, found 'sse'.", e.Message);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("0")]
    [InlineData("-2")]
    [InlineData("4 threads")]
    [InlineData("2.5")]
    public void BadThreadCountsAreErrorsNamingTheVariable(string value)
    {
        var e = Assert.Throws<EnvironmentSettingException>(() => EnvironmentSettings.ParseThreads(value));
        Assert.Equal("SCION_THREADS", e.Variable);
        Assert.Contains("SCION_THREADS", e.Message);
        Assert.Contains("positive whole number", e.Message);
        Assert.Contains($"found '{value}'", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void GoodThreadCountsAndSwitchesParse()
    {
        Assert.Equal(6, EnvironmentSettings.ParseThreads("6"));
        Assert.Null(EnvironmentSettings.ParseThreads(null));
        foreach (var on in new[] { "1", "on", "TRUE", "yes" }) Assert.True(EnvironmentSettings.ParseSwitch("SCION_PIN", on, false));
        foreach (var off in new[] { "0", "Off", "false", "NO" }) Assert.False(EnvironmentSettings.ParseSwitch("SCION_PIN", off, true));
        Assert.True(EnvironmentSettings.ParseSwitch("SCION_PIN", null, true));
        var e = Assert.Throws<EnvironmentSettingException>(() => EnvironmentSettings.ParseSwitch("SCION_REPACK", "nope", true));
        Assert.Equal("environment variable SCION_REPACK: expected 0 or 1 (also off/on, false/true, no/yes), found 'nope'.", e.Message);
    }
}

public class ThreadAffinityTests
{
    [Fact]
    public void PinnedThreadRunsOnlyOnItsCpu()
    {
        var allowed = ThreadAffinity.AllowedCpus();
        if (!OperatingSystem.IsLinux()) { Assert.Null(allowed); return; }
        Assert.NotNull(allowed);
        Assert.NotEmpty(allowed);
        int target = allowed[^1];
        int[]? seen = null;
        bool pinned = false;
        // A fresh thread, so the test runner's threads keep their affinity.
        var thread = new Thread(() =>
        {
            pinned = ThreadAffinity.PinCurrentThread(target);
            seen = ThreadAffinity.AllowedCpus();
        });
        thread.Start();
        thread.Join();
        Assert.True(pinned);
        Assert.Equal([target], seen!);
        Assert.Equal(allowed, ThreadAffinity.AllowedCpus()); // the calling thread is untouched
    }

    [Fact]
    public void PinnedPoolRunsEveryItemAndReportsItsPins()
    {
        var allowed = ThreadAffinity.AllowedCpus();
        int threads = Math.Max(2, Math.Min(4, allowed?.Length ?? 2));
        using var pool = new WorkerPool(threads, pinWorkers: true);
        var hits = new int[1000];
        for (int round = 0; round < 20; round++)
        {
            var job = new CountingJob { Hits = hits };
            pool.Run(hits.Length, ref job);
        }
        Assert.All(hits, h => Assert.Equal(20, h));
        if (OperatingSystem.IsLinux() && allowed!.Length >= threads) Assert.Equal(threads - 1, pool.PinnedWorkers);
        else Assert.Equal(0, pool.PinnedWorkers);
    }

    private struct CountingJob : IParallelJob
    {
        public int[] Hits;
        public void Execute(int index) => Interlocked.Increment(ref Hits[index]);
    }
}
