using System.Text.Json;
using Scion.Cli.CommandLine;

namespace Scion.Cli.Tests;

/// <summary>`scion merge`: per-tensor progress, --json, and Ctrl-C part-way leaving nothing behind.</summary>
public class MergeCommandTests
{
    /// <summary>A one-step adapter of the bundled model in a fresh folder.</summary>
    private static (string Dir, string Adapter) Adapter()
    {
        string dir = Bundled.TempDir();
        string data = Path.Combine(dir, "d.jsonl");
        File.WriteAllText(data, "{\"text\": \"Once upon a time there was a cat.\"}\n");
        string adapter = Path.Combine(dir, "adapter");
        var ft = CliRunner.Run("finetune", "--data", data, "--output", adapter, "--steps", "1", "--targets", "all-linear");
        Assert.True(ft.ExitCode == 0, ft.Err);
        return (dir, adapter);
    }

    [Theory]
    [InlineData("merged.gguf", "gguf")]
    [InlineData("merged/", "huggingface")]
    public void JsonDescribesWhatWasWrittenAndProgressCountsEveryTensor(string name, string format)
    {
        var (dir, adapter) = Adapter();
        string output = Path.Combine(dir, name);
        var r = CliRunner.Run("merge", "--adapter", adapter, "--output", output, "--json");
        Assert.True(r.ExitCode == 0, r.Err);
        var doc = JsonDocument.Parse(r.Out).RootElement;
        Assert.Equal(format, doc.GetProperty("format").GetString());
        Assert.Equal(output, doc.GetProperty("output").GetString());
        int tensors = doc.GetProperty("tensors").GetInt32();
        // stories260K has 5 layers: 7 projections each are adapted (all-linear).
        Assert.Equal(35, doc.GetProperty("adapted_projections").GetInt32());
        Assert.Equal(tensors, doc.GetProperty("tensor_types").EnumerateObject().Sum(p => p.Value.GetInt32()));
        long bytes = format == "gguf" ? new FileInfo(output).Length : Directory.EnumerateFiles(output).Sum(f => new FileInfo(f).Length);
        Assert.Equal(bytes, doc.GetProperty("bytes").GetInt64());
        // Plain progress (stderr is not a terminal): one "[ i/n]" line per tensor, the last one "[n/n]".
        var lines = r.Err.Split('\n').Where(l => l.StartsWith('[') && l.Contains('/')).ToList();
        Assert.Equal(tensors, lines.Count);
        Assert.StartsWith($"[{tensors,4}/{tensors}]", lines[^1]);
        Directory.Delete(dir, true);
    }

    [Theory]
    [InlineData("merged.gguf")]
    [InlineData("merged/")]
    public void CtrlCPartWayExits130AndLeavesNoOutput(string name)
    {
        var (dir, adapter) = Adapter();
        var before = Directory.EnumerateFileSystemEntries(dir).Order().ToList();
        using var interrupt = new CancellationTokenSource();
        var err = new CancelOnText("[   3/", interrupt);
        int code = CliApp.Run(["merge", "--adapter", adapter, "--output", Path.Combine(dir, name)],
            new CliIo(new StringReader(""), new StringWriter(), err), interrupt.Token);
        Assert.True(code == 130, err.ToString());
        Assert.Contains("interrupted", err.ToString());
        // Neither the output nor any temporary (the merged folder is removed too, as it did not exist before).
        Assert.Equal(before, Directory.EnumerateFileSystemEntries(dir).Order().ToList());
        Directory.Delete(dir, true);
    }

    [Fact]
    public void AFolderMergeSweepsWhatAKilledMergeLeftAndWritesIntoAnExistingFolderWithForce()
    {
        var (dir, adapter) = Adapter();
        // kill -9 during an earlier merge to the same folder: its temporary folder and lock, nothing holding them.
        string id = Guid.NewGuid().ToString("N");
        string stale = Path.Combine(dir, $".merged.{id}.tmp");
        Directory.CreateDirectory(stale);
        File.WriteAllText(Path.Combine(stale, "model.safetensors"), "half");
        File.WriteAllText(Path.Combine(dir, $".merged.{id}.lock"), "");
        string output = Path.Combine(dir, "merged");
        var r = CliRunner.Run("merge", "--adapter", adapter, "--output", output + "/");
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.False(Directory.Exists(stale));
        Assert.Empty(Directory.GetFileSystemEntries(dir, ".merged.*"));
        Assert.True(File.Exists(Path.Combine(output, "config.json")));

        File.WriteAllText(Path.Combine(output, "notes.txt"), "kept");
        r = CliRunner.Run("merge", "--adapter", adapter, "--output", output, "--force");
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Equal("kept", File.ReadAllText(Path.Combine(output, "notes.txt")));
        Assert.Empty(Directory.GetFileSystemEntries(dir, ".merged.*"));
        Directory.Delete(dir, true);
    }

    private sealed class CancelOnText(string text, CancellationTokenSource cancel) : StringWriter
    {
        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            if (value?.Contains(text, StringComparison.Ordinal) == true) cancel.Cancel();
        }
    }
}
