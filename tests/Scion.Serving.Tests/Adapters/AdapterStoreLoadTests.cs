using System.Collections.Concurrent;
using Scion.Models.Adapters;
using Scion.Serving.Adapters;

namespace Scion.Serving.Tests.Adapters;

public class AdapterStoreLoadTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>A loader that reads the real folder but first waits for the test to open <see cref="Gate"/>, and
    /// records how many loads ran and how many at once.</summary>
    private sealed class GatedLoader(AdapterFixture f)
    {
        public readonly ManualResetEventSlim Gate = new(false);
        public readonly SemaphoreSlim Entered = new(0);
        public int Calls, InFlight, MaxInFlight;

        public AdapterStore.LoadedAdapter Load(string name, string folder)
        {
            Interlocked.Increment(ref Calls);
            int now = Interlocked.Increment(ref InFlight);
            InterlockedMax(ref MaxInFlight, now);
            Entered.Release();
            try
            {
                if (!Gate.Wait(Timeout)) throw new TimeoutException("the test never opened the gate");
                return new AdapterStore.LoadedAdapter(AdapterLoader.Load(folder, f.Model, name).Prepare(), null, null);
            }
            finally { Interlocked.Decrement(ref InFlight); }
        }

        private static void InterlockedMax(ref int target, int value)
        {
            int seen;
            while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen) { }
        }
    }

    [Fact]
    public async Task ConcurrentAcquiresOfOneNameShareOneLoad()
    {
        using var f = new AdapterFixture();
        f.Write("a", 1);
        var loader = new GatedLoader(f);
        var store = new AdapterStore(new AdapterStoreOptions(), loader.Load);
        store.RegisterRoot(f.Root);
        var pending = Enumerable.Range(0, 64).Select(_ => store.AcquireAsync("a").AsTask()).ToArray();
        Assert.True(await loader.Entered.WaitAsync(Timeout));
        Assert.All(pending, t => Assert.False(t.IsCompleted));
        Assert.True(store.Find("a")!.IsLoading);
        loader.Gate.Set();
        var leases = await Task.WhenAll(pending).WaitAsync(Timeout);
        Assert.Equal(1, loader.Calls);
        Assert.All(leases, l => Assert.Same(leases[0].Adapter, l.Adapter));
        Assert.Equal((64, 64L), (store.Find("a")!.Pins, store.Find("a")!.Requests));
        Assert.Equal((1L, 64L, 0L), (store.Stats.Loads, store.Stats.Misses, store.Stats.Hits));
        foreach (var l in leases) l.Dispose();
        Assert.Equal(0, store.Find("a")!.Pins);
    }

    [Fact]
    public async Task LoadsRunOffTheCallerAndAreBounded()
    {
        using var f = new AdapterFixture();
        for (int i = 0; i < 8; i++) f.Write($"a{i}", (ulong)i);
        var loader = new GatedLoader(f);
        var store = new AdapterStore(new AdapterStoreOptions { MaxConcurrentLoads = 2 }, loader.Load);
        store.RegisterRoot(f.Root);
        // Every acquire returns at once (the calling thread never runs a load), though no load can finish yet.
        var pending = Enumerable.Range(0, 8).Select(i => store.AcquireAsync($"a{i}").AsTask()).ToArray();
        Assert.True(await loader.Entered.WaitAsync(Timeout));
        Assert.True(await loader.Entered.WaitAsync(Timeout));
        Assert.Equal(2, Volatile.Read(ref loader.InFlight));
        Assert.All(pending, t => Assert.False(t.IsCompleted));
        loader.Gate.Set();
        var leases = await Task.WhenAll(pending).WaitAsync(Timeout);
        Assert.Equal(8, loader.Calls);
        Assert.True(loader.MaxInFlight <= 2, $"{loader.MaxInFlight} loads ran at once");
        Assert.Equal(Enumerable.Range(0, 8).Select(i => $"a{i}"), leases.Select(l => l.Name));
        foreach (var l in leases) l.Dispose();
    }

    [Fact]
    public async Task ManyConcurrentAcquiresUnderATightBudgetStayConsistent()
    {
        using var f = new AdapterFixture();
        var names = Enumerable.Range(0, 8).Select(i => $"a{i}").ToArray();
        for (int i = 0; i < names.Length; i++) f.Write(names[i], (ulong)(50 + i));
        var reference = names.ToDictionary(n => n, n => AdapterLoader.Load(f.Folder(n), f.Model));
        long bytes = reference["a0"].Prepare().Bytes;
        var store = new AdapterStore(f.Model, new AdapterStoreOptions { ByteBudget = 3 * bytes, MaxConcurrentLoads = 3 });
        store.RegisterRoot(f.Root);
        var errors = new ConcurrentQueue<string>();
        var workers = Enumerable.Range(0, 16).Select(w => Task.Run(async () =>
        {
            for (int k = 0; k < 25; k++)
            {
                string name = names[(w * 7 + k * 3) % names.Length];
                using var lease = await store.AcquireAsync(name);
                // The pinned adapter is the one named, with its own weights, however the cache churns meanwhile.
                if (lease.Name != name || !lease.Adapter[0, Models.Llama.LinearSlot.Q]!.A.AsSpan().SequenceEqual(reference[name][0, Models.Llama.LinearSlot.Q]!.A))
                    errors.Enqueue($"worker {w} step {k}: got '{lease.Name}' for '{name}'");
            }
        })).ToArray();
        await Task.WhenAll(workers).WaitAsync(Timeout);
        Assert.Empty(errors);
        var stats = store.Stats;
        Assert.Equal(16 * 25, stats.Hits + stats.Misses);
        Assert.Equal(0, stats.PinnedAdapters);
        Assert.True(stats.ResidentBytes <= store.Options.ByteBudget, $"{stats.ResidentBytes} bytes resident over a budget of {store.Options.ByteBudget}");
        Assert.Equal(stats.ResidentAdapters * bytes, stats.ResidentBytes);
        Assert.Equal(stats.Loads - stats.Evictions, stats.ResidentAdapters);
        Assert.Equal(400, store.List().Sum(i => i.Requests));
    }

    [Fact]
    public async Task MissingUnreadableAndWrongShapeFailThatCallAndAFixedFolderLoads()
    {
        using var f = new AdapterFixture();
        foreach (string n in new[] { "missing", "corrupt", "shape", "fine" }) f.Write(n, 9);
        var store = new AdapterStore(f.Model);
        store.RegisterRoot(f.Root);

        // Failures come back through the task, never as a throw from the call itself.
        var call = store.AcquireAsync("nobody");
        Assert.True(call.IsFaulted);
        Assert.True(store.AcquireAsync("../fine").IsFaulted);
        var unknown = await Assert.ThrowsAsync<AdapterException>(async () => await call);
        Assert.Equal("Adapter 'nobody' is not registered (4 adapters are; register its folder first).", unknown.Message);

        Directory.Delete(f.Folder("missing"), recursive: true);
        var missing = await Assert.ThrowsAsync<AdapterException>(async () => await store.AcquireAsync("missing").AsTask().WaitAsync(Timeout));
        Assert.Contains("'missing'", missing.Message);
        Assert.Contains("no such folder", missing.Message);

        File.WriteAllBytes(Path.Combine(f.Folder("corrupt"), PeftAdapterFiles.WeightsFileName), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
        var corrupt = await Assert.ThrowsAsync<AdapterException>(async () => await store.AcquireAsync("corrupt").AsTask().WaitAsync(Timeout));
        Assert.Contains("'corrupt'", corrupt.Message);
        Assert.Contains(PeftAdapterFiles.WeightsFileName, corrupt.Message);

        f.Write("shape", 9, shape: f.Config with { Dim = 48 });
        var shape = await Assert.ThrowsAsync<AdapterException>(async () => await store.AcquireAsync("shape").AsTask().WaitAsync(Timeout));
        Assert.Contains("'shape'", shape.Message);
        Assert.Contains("another base model", shape.Message);
        Assert.Contains("another base model", store.Find("shape")!.LastError);

        // Nothing else is affected, and nothing is remembered as broken: fixing the files fixes the adapter.
        using (var fine = await store.AcquireAsync("fine").AsTask().WaitAsync(Timeout)) Assert.Equal("fine", fine.Name);
        Assert.Equal((3L, 1L), (store.Stats.LoadFailures, store.Stats.Loads));
        foreach (string n in new[] { "missing", "corrupt", "shape" }) f.Write(n, 9);
        var expected = f.Logits(AdapterLoader.Load(f.Folder("fine"), f.Model));
        foreach (string n in new[] { "missing", "corrupt", "shape" })
        {
            using var lease = await store.AcquireAsync(n).AsTask().WaitAsync(Timeout);
            Assert.Equal(expected, f.Logits(lease.Adapter)); // same seed as "fine": the same adapter
            Assert.Null(store.Find(n)!.LastError);
        }
        Assert.Equal(4, store.Stats.Loads);
    }

    [Fact]
    public async Task ACancelledWaiterLeavesTheSharedLoadRunning()
    {
        using var f = new AdapterFixture();
        f.Write("a", 1);
        var loader = new GatedLoader(f);
        var store = new AdapterStore(new AdapterStoreOptions(), loader.Load);
        store.RegisterRoot(f.Root);
        using var cancel = new CancellationTokenSource();
        var first = store.AcquireAsync("a", cancel.Token).AsTask();
        var second = store.AcquireAsync("a").AsTask();
        Assert.True(await loader.Entered.WaitAsync(Timeout));
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first.WaitAsync(Timeout));
        loader.Gate.Set();
        using var lease = await second.WaitAsync(Timeout);
        Assert.Equal(1, loader.Calls);
        Assert.Equal(1, store.Find("a")!.Pins); // the cancelled waiter took no pin
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await store.AcquireAsync("a", cancel.Token));
    }

    [Fact]
    public async Task UnregisteringDuringALoadFailsItsWaiters()
    {
        using var f = new AdapterFixture();
        f.Write("a", 1);
        var loader = new GatedLoader(f);
        var store = new AdapterStore(new AdapterStoreOptions(), loader.Load);
        store.RegisterRoot(f.Root);
        var pending = store.AcquireAsync("a").AsTask();
        Assert.True(await loader.Entered.WaitAsync(Timeout));
        Assert.True(store.Unregister("a"));
        loader.Gate.Set();
        var e = await Assert.ThrowsAsync<AdapterException>(() => pending.WaitAsync(Timeout));
        Assert.Contains("unregistered while it was loading", e.Message);
        Assert.Equal(0, store.Stats.ResidentBytes);
    }
}
