using Scion.Models.Adapters;
using Scion.Models.Formats;
using Scion.Models.Llama;
using Scion.Testing;

namespace Scion.Models.Tests.Formats;

/// <summary>Files reached through symbolic links load as their targets: Hugging Face's download cache is a
/// <c>snapshots/REV/</c> folder of links into <c>blobs/</c>, and a link's own length (its target's name) once made
/// every such file look truncated.</summary>
public class SymlinkedFilesTests
{
    /// <summary>Copies each file into blobs/ under a content-like name and links snapshots/rev/NAME to it, as the cache does.</summary>
    private static string CacheShaped(TempDirectory temp, string source, string repo)
    {
        string blobs = Path.Combine(temp.Path, repo, "blobs"), snapshot = Path.Combine(temp.Path, repo, "snapshots", "0123abcd");
        Directory.CreateDirectory(blobs);
        Directory.CreateDirectory(snapshot);
        int n = 0;
        foreach (var file in Directory.EnumerateFiles(source))
        {
            string blob = Path.Combine(blobs, $"{++n:x40}");
            File.Copy(file, blob);
            File.CreateSymbolicLink(Path.Combine(snapshot, Path.GetFileName(file)), Path.Combine("..", "..", "blobs", Path.GetFileName(blob)));
        }
        return snapshot;
    }

    [Fact]
    public void AHuggingFaceCacheFolderOfLinksLoadsAndMatchesItsGolden()
    {
        using var temp = new TempDirectory();
        string snapshot = CacheShaped(temp, SharedData.Path("golden", "hf-golden-tiny"), "models--scion--tiny");
        Assert.NotNull(new FileInfo(Path.Combine(snapshot, "model.safetensors")).LinkTarget);
        using var m = LlamaModel.LoadHuggingFace(snapshot);
        Golden.GoldenRunner.Check(m, null, GoldenCase.Load(SharedData.Path("golden", "golden-tiny-f16.jsonl")), 1e-2, true);

        string adapter = CacheShaped(temp, SharedData.Path("golden", "lora-golden-tiny"), "models--scion--lora");
        var lora = AdapterLoader.Load(adapter, m);
        Golden.GoldenRunner.Check(m, lora, GoldenCase.Load(SharedData.Path("golden", "lora-golden-tiny.jsonl")), 1e-2, true);
        Assert.Equal(PathKind.SizeOnDisk(SharedData.Path("golden", "hf-golden-tiny")), PathKind.SizeOnDisk(snapshot));
    }

    [Fact]
    public void AGgufReachedThroughAChainOfLinksLoads()
    {
        using var temp = new TempDirectory();
        string first = temp.File("first.gguf"), second = temp.File("model.gguf");
        File.CreateSymbolicLink(first, BundledModel.Stories260K);
        File.CreateSymbolicLink(second, first);
        using var viaLinks = LlamaModel.LoadGguf(second);
        using var direct = LlamaModel.LoadGguf(BundledModel.Stories260K);
        var batch = new ForwardBatch().AddSequence(0, [1, 403, 407], 0);
        Assert.Equal(direct.Forward(batch, new Scion.Models.KvCache.PagedKvCache(direct.Config, 16)), viaLinks.Forward(batch, new Scion.Models.KvCache.PagedKvCache(viaLinks.Config, 16)));
        Assert.Equal(new FileInfo(BundledModel.Stories260K).Length, PathKind.SizeOnDisk(second));
    }
}
