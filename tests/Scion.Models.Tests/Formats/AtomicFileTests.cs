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
}
