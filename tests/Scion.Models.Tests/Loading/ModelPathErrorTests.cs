using Scion.Models.Adapters;
using Scion.Models.Formats;
using Scion.Models.Loading;
using Scion.Models.Tests.Formats;
using Scion.Models.Tokenization;

namespace Scion.Models.Tests.Loading;

/// <summary>
/// Paths that hold the wrong thing: the error names the format the file was taken for (by extension, then by
/// magic) and says when a folder was given where a file is expected, or the reverse.
/// </summary>
public class ModelPathErrorTests
{
    private const string Text = "{\"name\": \"this is a JSON text file, not a model\", \"padding\": \"................................\"}\n";

    private static Exception LoadError(string path) => Assert.ThrowsAny<Exception>(() => ModelLoader.Load(path).Dispose());

    [Fact]
    public void ATextFileNamedGgufIsReportedAsNotGguf()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("model.gguf"), Text);
        var e = LoadError(dir.File("model.gguf"));
        Assert.IsType<ModelFormatException>(e);
        Assert.Contains("not a GGUF file", e.Message);
        Assert.DoesNotContain("llama2.c", e.Message);
    }

    [Fact]
    public void ATextFileNamedBinIsReportedAsNotALlama2cCheckpoint()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("model.bin"), Text);
        var e = LoadError(dir.File("model.bin"));
        Assert.IsType<ModelFormatException>(e);
        Assert.Contains("not a llama2.c checkpoint", e.Message);
    }

    [Fact]
    public void AFileOfUnknownKindIsReportedAsNeitherFormat()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("model.txt"), Text);
        var e = LoadError(dir.File("model.txt"));
        Assert.IsType<ModelFormatException>(e);
        Assert.Contains("not a GGUF file", e.Message);
        Assert.Contains("not a llama2.c checkpoint", e.Message);
        File.WriteAllText(dir.File("tiny"), "hi");
        Assert.Contains("not a llama2.c checkpoint", LoadError(dir.File("tiny")).Message);
    }

    [Fact]
    public void ASafetensorsFileAloneAsksForItsFolder()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("model.safetensors"), Text);
        Assert.Contains("give the folder", LoadError(dir.File("model.safetensors")).Message);
    }

    [Fact]
    public void AFolderWhereAFileIsExpectedIsNamedAsSuch()
    {
        using var dir = new TempDirectory();
        string folder = dir.File("model.gguf");
        Directory.CreateDirectory(folder);
        Assert.Contains("is a folder, expected a file", Assert.Throws<ModelFormatException>(() => GgufFile.Open(folder)).Message);
        Assert.Contains("is a folder", Assert.Throws<ModelFormatException>(() => Tokenizer.FromLlama2c(folder, 512)).Message);
        Assert.Contains("is a folder", Assert.Throws<ModelFormatException>(() => SafetensorsFile.Open(folder)).Message);
    }

    [Fact]
    public void AFileWhereAFolderIsExpectedIsNamedAsSuch()
    {
        using var dir = new TempDirectory();
        string file = dir.File("adapter");
        File.WriteAllText(file, Text);
        Assert.Contains("is a file, expected a PEFT adapter folder", Assert.Throws<ModelFormatException>(() => PeftAdapterFiles.Load(file)).Message);
        Assert.Contains("is a file, expected a Hugging Face model folder", Assert.Throws<ModelFormatException>(() => HfModelFolder.Open(file)).Message);
        Assert.Contains("is a file", Assert.Throws<ModelFormatException>(() => Tokenizer.FromHuggingFace(file)).Message);
        Assert.Contains("no such folder", Assert.Throws<DirectoryNotFoundException>(() => PeftAdapterFiles.Load(dir.File("missing"))).Message);
    }

    [Fact]
    public void AFolderWithoutConfigSaysWhatItHolds()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("model.gguf"), Text);
        var e = Assert.Throws<ModelFormatException>(() => ModelLoader.Load(dir.Path).Dispose());
        Assert.Contains("without config.json", e.Message);
        Assert.Contains("holds model.gguf: give the file itself", e.Message);
        File.WriteAllText(dir.File(PeftAdapterFiles.ConfigFileName), "{}");
        Assert.Contains("holds a PEFT adapter", Assert.Throws<ModelFormatException>(() => ModelLoader.Load(dir.Path).Dispose()).Message);
    }
}
