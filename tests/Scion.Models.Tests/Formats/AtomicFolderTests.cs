using Scion.Models.Formats;

namespace Scion.Models.Tests.Formats;

/// <summary>Folders built in a temporary sibling and renamed as one; stale ones a killed writer left are swept.</summary>
public class AtomicFolderTests
{
    private static void Build(string folder)
    {
        File.WriteAllText(Path.Combine(folder, "model.safetensors"), "weights");
        File.WriteAllText(Path.Combine(folder, "config.json"), "{}");
    }

    [Fact]
    public void AFolderAppearsWholeOrNotAtAll()
    {
        using var dir = new TempDirectory();
        string target = dir.File("merged");
        AtomicFolder.Write(target, temp =>
        {
            Assert.False(Directory.Exists(target)); // nothing visible while it is being built
            Build(temp);
        }, ExistingFolder.MergeInto);
        Assert.Equal(["config.json", "model.safetensors"], Directory.GetFiles(target).Select(Path.GetFileName).Order());
        Assert.Single(Directory.GetFileSystemEntries(dir.Path)); // no temporary or lock left

        Assert.Throws<InvalidOperationException>(() => AtomicFolder.Write(dir.File("failed"), temp =>
        {
            Build(temp);
            throw new InvalidOperationException("stop");
        }, ExistingFolder.MergeInto));
        Assert.Single(Directory.GetFileSystemEntries(dir.Path));
    }

    [Fact]
    public void AnExistingFolderIsReplacedOrWrittenIntoAsAsked()
    {
        using var dir = new TempDirectory();
        string target = dir.File("out");
        Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, "README.md"), "mine");
        File.WriteAllText(Path.Combine(target, "config.json"), "old");
        AtomicFolder.Write(target, Build, ExistingFolder.MergeInto, "config.json");
        Assert.Equal("mine", File.ReadAllText(Path.Combine(target, "README.md")));
        Assert.Equal("{}", File.ReadAllText(Path.Combine(target, "config.json")));

        AtomicFolder.Write(target, Build, ExistingFolder.Replace);
        Assert.False(File.Exists(Path.Combine(target, "README.md")));
        Assert.Single(Directory.GetFileSystemEntries(dir.Path));

        string empty = dir.File("empty");
        Directory.CreateDirectory(empty);
        AtomicFolder.Write(empty, Build, ExistingFolder.MergeInto);
        Assert.True(File.Exists(Path.Combine(empty, "config.json")));
    }

    [Fact]
    public void StaleTemporaryFoldersAreSweptAndLiveOnesKept()
    {
        using var dir = new TempDirectory();
        // A kill -9 mid-build: the folder with part of the files, its lock file no longer held.
        string id = Guid.NewGuid().ToString("N");
        string stale = dir.File($".merged.{id}.tmp"), staleLock = dir.File($".merged.{id}.lock");
        Directory.CreateDirectory(stale);
        File.WriteAllText(Path.Combine(stale, "model.safetensors"), "half");
        File.WriteAllText(staleLock, "");
        string orphanLock = AtomicFileTests.Ours(dir, "merged", "lock");
        File.WriteAllText(orphanLock, "");
        string noLock = AtomicFileTests.Ours(dir, "merged"); // from before lock files existed
        Directory.CreateDirectory(noLock);
        // A build still running in another process: its lock is held.
        string liveId = Guid.NewGuid().ToString("N");
        string live = dir.File($".merged.{liveId}.tmp");
        Directory.CreateDirectory(live);
        using var held = new FileStream(dir.File($".merged.{liveId}.lock"), FileMode.CreateNew, FileAccess.Write, FileShare.None);

        AtomicFolder.Write(dir.File("merged"), Build, ExistingFolder.MergeInto);
        foreach (var gone in new[] { stale, staleLock, orphanLock, noLock }) Assert.False(Path.Exists(gone), gone);
        Assert.True(Directory.Exists(live));
        Assert.True(File.Exists(dir.File("merged/config.json")));
    }

    [Fact]
    public void AStoppedProcessDeletesTheFolderItWasBuilding()
    {
        using var dir = new TempDirectory();
        Assert.ThrowsAny<IOException>(() => AtomicFolder.Write(dir.File("out"), temp =>
        {
            Build(temp);
            AtomicFile.DeleteInFlightTemporaries(dir.Path); // what the SIGTERM / Ctrl-C hooks run
        }, ExistingFolder.MergeInto));
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }
}
