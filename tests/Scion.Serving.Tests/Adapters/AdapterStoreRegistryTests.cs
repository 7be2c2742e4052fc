using Scion.Models.Adapters;
using Scion.Serving.Adapters;

namespace Scion.Serving.Tests.Adapters;

public class AdapterStoreRegistryTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task RootScanRegistersThousandsWithoutReadingTheirConfigs()
    {
        using var f = new AdapterFixture();
        f.Write("good", 1);
        // 1,500 folders whose config is not even JSON: registering reads none of them.
        for (int i = 0; i < 1500; i++)
        {
            string dir = f.Folder($"lazy-{i:D4}");
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, PeftAdapterFiles.ConfigFileName), "{ this is not json");
        }
        Directory.CreateDirectory(f.Folder("not-an-adapter"));
        foreach (string odd in new[] { ".hidden", "has space" })
        {
            Directory.CreateDirectory(f.Folder(odd));
            File.WriteAllText(Path.Combine(f.Folder(odd), PeftAdapterFiles.ConfigFileName), "{}");
        }
        // One of them has real weights, so its failure at first use is about the config.
        File.Copy(Path.Combine(f.Folder("good"), PeftAdapterFiles.WeightsFileName), Path.Combine(f.Folder("lazy-0007"), PeftAdapterFiles.WeightsFileName));
        var store = new AdapterStore(f.Model);
        var scan = store.RegisterRoot(f.Root);
        Assert.Equal(1501, scan.Registered.Count);
        Assert.Contains("good", scan.Registered);
        Assert.DoesNotContain("not-an-adapter", scan.Registered);
        Assert.Equal(2, scan.Skipped.Count);
        Assert.Contains(scan.Skipped, s => s.StartsWith(".hidden:", StringComparison.Ordinal));
        Assert.Contains(scan.Skipped, s => s.StartsWith("has space:", StringComparison.Ordinal) && s.Contains("' '"));

        var list = store.List();
        Assert.Equal(1501, list.Count);
        Assert.All(list, i => Assert.False(i.IsLoaded));
        Assert.All(list, i => Assert.Null(i.Rank));
        Assert.Equal(0, store.Stats.Loads);

        // The bad config surfaces at first use, naming the adapter; the good one is unaffected.
        var e = await Assert.ThrowsAsync<AdapterException>(async () => await store.AcquireAsync("lazy-0007").AsTask().WaitAsync(Timeout));
        Assert.Contains("'lazy-0007'", e.Message);
        Assert.Contains(PeftAdapterFiles.ConfigFileName + ": not valid JSON", e.Message);
        using var good = await store.AcquireAsync("good").AsTask().WaitAsync(Timeout);
        Assert.Equal("good", good.Name);
        Assert.Equal(1, store.Stats.LoadFailures);
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("..")]
    [InlineData("a/b")]
    [InlineData("a\\b")]
    [InlineData("/etc")]
    [InlineData("")]
    [InlineData(".git")]
    public async Task NamesThatCouldLeaveARootAreRefused(string name)
    {
        using var f = new AdapterFixture();
        f.Write("ok", 1);
        var store = new AdapterStore(f.Model);
        store.RegisterRoot(f.Root);
        var e = Assert.Throws<AdapterException>(() => store.Register(name));
        Assert.Contains("refused", e.Message);
        e = Assert.Throws<AdapterException>(() => store.Register(name, f.Folder("ok")));
        Assert.Contains("refused", e.Message);
        e = await Assert.ThrowsAsync<AdapterException>(async () => await store.AcquireAsync(name));
        Assert.Contains("refused", e.Message);
    }

    [Fact]
    public async Task AFolderRegisteredByItselfAddsNoRoot()
    {
        using var f = new AdapterFixture();
        string named = f.Write("named", 1);
        string sibling = f.Write("sibling", 2);
        var store = new AdapterStore(f.Model);
        store.RegisterFolder("chosen", named);
        store.RegisterFolder("chosen", named); // again for the same folder: nothing
        Assert.Equal(["chosen"], store.List().Select(a => a.Name));
        // Its parent did not become a root: the sibling cannot be registered, by folder or by name.
        Assert.Contains("no adapter root", Assert.Throws<AdapterException>(() => store.Register("sibling", sibling)).Message);
        Assert.Throws<AdapterException>(() => store.Register("sibling"));
        Assert.Throws<AdapterException>(() => store.RegisterFolder("chosen", sibling));
        Assert.Throws<AdapterException>(() => store.RegisterFolder("../x", sibling));
        Assert.Throws<AdapterException>(() => store.RegisterFolder("empty", f.Root));
        using var lease = await store.AcquireAsync("chosen").AsTask().WaitAsync(Timeout);
        Assert.NotNull(lease.Adapter);
        Assert.Null(AdapterStore.NameProblem("a-b.c_1"));
        Assert.NotNull(AdapterStore.NameProblem("a/b"));
    }

    [Fact]
    public void FoldersOutsideTheRootsAreRefused()
    {
        using var f = new AdapterFixture();
        using var outside = new AdapterFixture();
        string elsewhere = outside.Write("elsewhere", 2);
        var store = new AdapterStore(f.Model);
        var e = Assert.Throws<AdapterException>(() => store.Register("elsewhere", elsewhere));
        Assert.Contains("no adapter root", e.Message);
        store.AddRoot(f.Root);
        e = Assert.Throws<AdapterException>(() => store.Register("elsewhere", elsewhere));
        Assert.Contains("outside the adapter roots", e.Message);
        e = Assert.Throws<AdapterException>(() => store.Register("elsewhere", Path.Combine(f.Root, "..", Path.GetFileName(outside.Root), "elsewhere")));
        Assert.Contains("outside the adapter roots", e.Message);

        // A link inside the root that points outside it is not followed.
        Directory.CreateSymbolicLink(f.Folder("linked"), elsewhere);
        var scan = store.RegisterRoot(f.Root);
        Assert.Empty(scan.Registered);
        Assert.Equal(["linked: links outside the adapter roots"], scan.Skipped);
        Assert.Throws<AdapterException>(() => store.Register("linked"));
    }

    [Fact]
    public async Task RegisterUnregisterAndListAtRunTime()
    {
        using var f = new AdapterFixture();
        f.Write("first", 1, rank: 4);
        var store = new AdapterStore(f.Model);
        Assert.Equal(["first"], store.RegisterRoot(f.Root).Registered);

        // A folder added after the scan is registered by name; registering again is a no-op.
        f.Write("later", 2, rank: 2, dora: true);
        Assert.Throws<AdapterException>(() => store.Acquire("later"));
        store.Register("later");
        store.Register("later", f.Folder("later"));
        var clash = Assert.Throws<AdapterException>(() => store.Register("later", f.Folder("first")));
        Assert.Contains("already registered", clash.Message);
        var missing = Assert.Throws<AdapterException>(() => store.Register("never"));
        Assert.Contains("no folder 'never'", missing.Message);

        using (var lease = await store.AcquireAsync("later").AsTask().WaitAsync(Timeout))
        {
            var info = store.Find("later")!;
            Assert.True(info.IsLoaded);
            Assert.Equal((2, 4.0, true, false), (info.Rank, info.Alpha, info.UseDora, info.UseRslora));
            Assert.Equal(AdapterFixture.QvoTargets, info.Targets);
            Assert.Equal(lease.Adapter.Bytes, info.Bytes);
            Assert.Equal((1, 1L), (info.Pins, info.Requests));

            // Unregistered while leased: the lease keeps working, new acquires fail, memory goes with the lease.
            Assert.True(store.Unregister("later"));
            Assert.False(store.Unregister("later"));
            Assert.Null(store.Find("later"));
            var gone = await Assert.ThrowsAsync<AdapterException>(async () => await store.AcquireAsync("later"));
            Assert.Contains("not registered", gone.Message);
            Assert.Equal(lease.Adapter.Bytes, store.Stats.ResidentBytes);
            Assert.NotEqual(f.Logits(null), f.Logits(lease.Adapter));
        }
        Assert.Equal(0, store.Stats.ResidentBytes);
        Assert.Equal(["first"], store.List().Select(i => i.Name));
    }
}

internal static class AdapterStoreTestExtensions
{
    /// <summary>Acquire and wait, for tests that expect a synchronous failure.</summary>
    public static AdapterLease Acquire(this AdapterStore store, string name) =>
        store.AcquireAsync(name).AsTask().WaitAsync(TimeSpan.FromSeconds(60)).GetAwaiter().GetResult();
}
