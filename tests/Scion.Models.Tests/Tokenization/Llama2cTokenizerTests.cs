using Scion.Models.Tokenization;
using Scion.Testing;

namespace Scion.Models.Tests.Tokenization;

public class Llama2cTokenizerTests
{
    private static Tokenizer FromBin() => Tokenizer.FromLlama2c(SharedData.Path("models", "stories260K", "tok512.bin"), 512);

    [Fact]
    public void MatchesTheSameVocabularyConvertedToGguf()
    {
        var bin = FromBin();
        var gguf = VocabTestCases.Gguf("models", "stories260K", "stories260K.gguf");
        Assert.Equal(gguf.VocabSize, bin.VocabSize);
        for (int id = 0; id < bin.VocabSize; id++) Assert.Equal(gguf.TokenText(id), bin.TokenText(id));
        string[] samples = [
            "Once upon a time", "Once upon a time, there was a little girl named Lily.", "", " ", "  two  spaces ",
            "She said: \"Hello!\"\nThen she left.\n\n", "émoji 🦙 and 中文 and tabs\t\t", "1234567890", "<s>not special</s>",
        ];
        foreach (var s in samples)
        {
            Assert.Equal(gguf.Encode(s), bin.Encode(s));
            Assert.Equal(gguf.Encode(s, parseSpecial: true), bin.Encode(s, parseSpecial: true));
            Assert.Equal(s, bin.Decode(bin.Encode(s), skipSpecial: true));
        }
        Assert.Equal(1, bin.BosId);
        Assert.Equal(2, bin.EosId);
        Assert.True(bin.AddBos);
    }

    [Fact]
    public void TruncatedFileIsReportedWithItsPath()
    {
        string path = Path.Combine(Path.GetTempPath(), $"scion-tok-{Guid.NewGuid():N}.bin");
        File.WriteAllBytes(path, File.ReadAllBytes(SharedData.Path("models", "stories260K", "tok512.bin"))[..100]);
        try
        {
            var ex = Assert.Throws<Scion.Models.Formats.ModelFormatException>(() => Tokenizer.FromLlama2c(path, 512));
            Assert.Contains(path, ex.Message);
        }
        finally { File.Delete(path); }
    }
}
