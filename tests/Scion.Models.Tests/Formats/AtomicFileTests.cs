using Scion.Models.Formats;

namespace Scion.Models.Tests.Formats;

public class AtomicFileTests
{
    [Fact]
    public void AFailedWriteLeavesNeitherTargetNorTemporary()
    {
        using var dir = new TempDirectory();
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(dir.File("out.gguf"), s =>
        {
            s.Write(new byte[1000]);
            throw new InvalidOperationException("stop");
        }));
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }

    [Fact]
    public void TemporariesOfWritesInProgressAreDeletedWhenTheProcessExits()
    {
        // What the exit hooks (Ctrl-C, SIGTERM) run, called here while a write is under way.
        using var dir = new TempDirectory();
        string[] during = [];
        Assert.ThrowsAny<IOException>(() => AtomicFile.Write(dir.File("out.gguf"), s =>
        {
            s.Write(new byte[1000]);
            s.Flush();
            Assert.Single(Directory.GetFiles(dir.Path, "*.tmp"));
            AtomicFile.DeleteInFlightTemporaries(dir.Path);
            during = Directory.GetFiles(dir.Path, "*.tmp");
        }));
        Assert.Empty(during);
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }

    /// <summary>A temporary name as the writers make them: ".NAME.&lt;32 hex&gt;.tmp".</summary>
    internal static string Ours(TempDirectory dir, string name, string kind = "tmp") => dir.File($".{name}.{Guid.NewGuid():N}.{kind}");

    [Fact]
    public void StaleTemporariesOfTheSameTargetAreRemovedByTheNextWrite()
    {
        using var dir = new TempDirectory();
        // What a kill -9 mid-write leaves: nothing holds these any more.
        string stale = Ours(dir, "out.gguf"), staleToo = Ours(dir, "out.gguf");
        File.WriteAllBytes(stale, new byte[100]);
        File.WriteAllBytes(staleToo, []);
        // Not for this target, or not of our naming: left alone.
        string otherTarget = Ours(dir, "other.gguf"), notOurs = dir.File(".out.gguf.partial.tmp"), prefix = Ours(dir, "out.gguf.bak");
        foreach (var f in new[] { otherTarget, notOurs, prefix }) File.WriteAllBytes(f, [1]);

        AtomicFile.Write(dir.File("out.gguf"), s => s.Write([1, 2, 3]));
        Assert.Equal([1, 2, 3], File.ReadAllBytes(dir.File("out.gguf")));
        Assert.False(File.Exists(stale));
        Assert.False(File.Exists(staleToo));
        Assert.All(new[] { otherTarget, notOurs, prefix }, f => Assert.True(File.Exists(f), f));
    }

    [Fact]
    public void ATemporaryAnotherWriterHoldsIsLeftAlone()
    {
        using var dir = new TempDirectory();
        string live = Ours(dir, "out.gguf");
        // Another process writing the same target holds its temporary exactly like this.
        using (var writer = new FileStream(live, FileMode.CreateNew, FileAccess.Write, FileShare.None))
        {
            writer.Write(new byte[10]);
            AtomicFile.Write(dir.File("out.gguf"), s => s.Write([7]));
            Assert.True(File.Exists(live));
        }
        AtomicFile.DeleteStaleTemporaries(dir.File("out.gguf"));
        Assert.False(File.Exists(live));
        Assert.Equal([7], File.ReadAllBytes(dir.File("out.gguf")));
    }
}
