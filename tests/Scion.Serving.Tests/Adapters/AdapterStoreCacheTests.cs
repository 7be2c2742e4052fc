using Scion.Models.Adapters;
using Scion.Serving.Adapters;

namespace Scion.Serving.Tests.Adapters;

public class AdapterStoreCacheTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private static async Task<AdapterLease> Acquire(AdapterStore store, string name) =>
        await store.AcquireAsync(name).AsTask().WaitAsync(Timeout);

    [Fact]
    public async Task EvictionUnderATinyBudgetKeepsResultsCorrect()
    {
        using var f = new AdapterFixture();
        var names = Enumerable.Range(0, 6).Select(i => $"a{i}").ToArray();
        for (int i = 0; i < names.Length; i++) f.Write(names[i], (ulong)(100 + i), rank: 2 + i % 3, dora: i == 4, rslora: i == 5);
        // Independent reference: each adapter loaded directly, outside the store.
        var expected = names.ToDictionary(n => n, n => f.Logits(AdapterLoader.Load(f.Folder(n), f.Model)));
        long largest = names.Max(n => AdapterLoader.Load(f.Folder(n), f.Model).Prepare().Bytes);
        var store = new AdapterStore(f.Model, new AdapterStoreOptions { ByteBudget = 2 * largest });
        store.RegisterRoot(f.Root);

        for (int round = 0; round < 2; round++)
            foreach (string name in names)
            {
                using var lease = await Acquire(store, name);
                Assert.Equal(expected[name], f.Logits(lease.Adapter));
                Assert.True(store.Stats.ResidentBytes <= store.Options.ByteBudget);
            }
        var stats = store.Stats;
        // Two fit at a time, so round-robin over six reloads every time.
        Assert.Equal(12, stats.Loads);
        Assert.Equal(10, stats.Evictions);
        Assert.Equal(0, stats.Hits);
        Assert.Equal(2, stats.ResidentAdapters);
        Assert.Equal(["a4", "a5"], store.List().Where(i => i.IsLoaded).Select(i => i.Name));
        Assert.NotEqual(expected["a0"], f.Logits(null));
        Assert.All(store.List(), i => Assert.NotNull(i.Bytes)); // the last known size stays listed after eviction
    }

    [Fact]
    public async Task PinnedAdaptersAreNotEvictedAndTheBudgetIsOvershotUntilRelease()
    {
        using var f = new AdapterFixture();
        f.Write("a", 1);
        f.Write("b", 2);
        f.Write("c", 3);
        long bytes = AdapterLoader.Load(f.Folder("a"), f.Model).Prepare().Bytes;
        var store = new AdapterStore(f.Model, new AdapterStoreOptions { ByteBudget = bytes });
        store.RegisterRoot(f.Root);

        var a = await Acquire(store, "a");
        var aLogits = f.Logits(a.Adapter);
        var b = await Acquire(store, "b");
        // Both pinned: nothing could be evicted, so the store runs over budget.
        Assert.Equal(2 * bytes, store.Stats.ResidentBytes);
        Assert.Equal(0, store.Stats.Evictions);
        Assert.Equal(2, store.Stats.PinnedAdapters);
        Assert.Equal(2 * bytes, store.Stats.PeakResidentBytes);
        Assert.Equal(aLogits, f.Logits(a.Adapter));

        a.Dispose(); // now unpinned and least recently used: evicted to get back under budget
        Assert.Equal((bytes, 1L), (store.Stats.ResidentBytes, store.Stats.Evictions));
        Assert.False(store.Find("a")!.IsLoaded);
        Assert.True(store.Find("b")!.IsLoaded);

        using (var again = await Acquire(store, "b")) Assert.Same(b.Adapter, again.Adapter); // a hit on the pinned one
        Assert.Equal(1, store.Stats.Hits);
        b.Dispose(); // fits the budget alone: stays resident
        Assert.True(store.Find("b")!.IsLoaded);

        using (var c = await Acquire(store, "c")) Assert.False(store.Find("b")!.IsLoaded); // b was the LRU victim
        using (var a2 = await Acquire(store, "a")) Assert.Equal(aLogits, f.Logits(a2.Adapter));
        Assert.Equal(4, store.Stats.Loads);
    }

    [Fact]
    public async Task ZeroBudgetStillServesWhilePinned()
    {
        using var f = new AdapterFixture();
        f.Write("a", 1);
        var store = new AdapterStore(f.Model, new AdapterStoreOptions { ByteBudget = 0 });
        store.RegisterRoot(f.Root);
        for (int i = 0; i < 3; i++)
        {
            using var lease = await Acquire(store, "a");
            Assert.Equal(lease.Adapter.Bytes, store.Stats.ResidentBytes);
        }
        Assert.Equal((3L, 3L, 0L), (store.Stats.Loads, store.Stats.Evictions, store.Stats.ResidentBytes));
    }

    [Fact]
    public async Task UnloadDropsAnUnpinnedAdapterAndKeepsItRegistered()
    {
        using var f = new AdapterFixture();
        f.Write("a", 1);
        var store = new AdapterStore(f.Model);
        store.RegisterRoot(f.Root);
        Assert.False(store.Unload("a")); // not resident
        float[] first;
        using (var lease = await Acquire(store, "a"))
        {
            first = f.Logits(lease.Adapter);
            Assert.False(store.Unload("a")); // pinned
        }
        Assert.True(store.Unload("a"));
        Assert.Equal((0L, false), (store.Stats.ResidentBytes, store.Find("a")!.IsLoaded));
        using (var lease = await Acquire(store, "a")) Assert.Equal(first, f.Logits(lease.Adapter));
        Assert.Equal(2, store.Stats.Loads);
        Assert.False(store.Unload("nobody"));
    }

    [Fact]
    public void OptionsAreValidated()
    {
        using var f = new AdapterFixture();
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdapterStore(f.Model, new AdapterStoreOptions { ByteBudget = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdapterStore(f.Model, new AdapterStoreOptions { MaxConcurrentLoads = 0 }));
    }
}
