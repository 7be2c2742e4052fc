using Scion.Models.Tokenization;

namespace Scion.Models.Tests.Tokenization;

public class PreTokenizerTests
{
    private static List<string> Pieces(CodePointSplitter splitter, string text)
    {
        var cps = new CodePoints(text);
        return CodePointSplitter.SplitAll(cps, [splitter]).Select(p => cps.Substring(p.Start, p.Length)).ToList();
    }

    // The hand-written scanners must cut exactly where .NET's regex engine cuts with the original pattern.
    [Theory]
    [InlineData(Patterns.Gpt2WithTrailingWhitespace, 0)]
    [InlineData(Patterns.Llama3, 3)]
    [InlineData(Patterns.Llama3CaseInsensitive, 3)]
    [InlineData(Patterns.Qwen2, 1)]
    public void ScannersAgreeWithTheRegex(string pattern, int maxDigits)
    {
        CodePointSplitter scanner = maxDigits == 0 ? new Gpt2Splitter() : new Llama3Splitter(maxDigits);
        var regex = new RegexSplitter(pattern, asciiWhitespace: false);
        var rng = new Random(42);
        string[] extra = ["'S", "'Re", "'VE", "123456", "x1y22z333", "\r\n\r\n", " \r\n  ", "  \t ", "a  b", "!!!\n", " ?\n\n", "٣٤٥", "Ⅻ", "²"];
        for (int i = 0; i < 2000; i++)
        {
            string text = RoundTripTests.RandomText(rng, rng.Next(1, 10)) + (i % 3 == 0 ? extra[rng.Next(extra.Length)] : "");
            Assert.Equal(Pieces(regex, text), Pieces(scanner, text));
        }
    }

    [Fact]
    public void Llama3SplitsDigitsInThreesAndKeepsLetterRunsWithTheirLeadingChar()
    {
        var split = new Llama3Splitter(3);
        Assert.Equal(["Hello", ",", " world", " ", "123", "456", "7", "'s", "\n\n", "😀abc"], Pieces(split, "Hello, world 1234567's\n\n😀abc"));
    }

    [Theory]
    [InlineData("default")]
    [InlineData("gpt-2")]
    [InlineData("llama-bpe")]
    [InlineData("qwen2")]
    [InlineData("starcoder")]
    [InlineData("deepseek-llm")]
    [InlineData("deepseek-coder")]
    [InlineData("falcon")]
    [InlineData("command-r")]
    [InlineData("tekken")]
    public void EveryKnownPreTokenizerCoversTheWholeText(string name)
    {
        var splitters = LlamaCppPreTokenizer.ForName(name, "test").CreateSplitters();
        var rng = new Random(3);
        for (int i = 0; i < 300; i++)
        {
            string text = RoundTripTests.RandomText(rng, rng.Next(1, 10));
            var cps = new CodePoints(text);
            var pieces = CodePointSplitter.SplitAll(cps, splitters);
            Assert.Equal(text, string.Concat(pieces.Select(p => cps.Substring(p.Start, p.Length))));
            Assert.All(pieces, p => Assert.True(p.Length > 0));
        }
    }

    [Fact]
    public void StarcoderIsolatesDigitsThenAppliesGpt2()
    {
        var splitters = LlamaCppPreTokenizer.ForName("starcoder", "test").CreateSplitters();
        var cps = new CodePoints("abc 123 x");
        var pieces = CodePointSplitter.SplitAll(cps, splitters).Select(p => cps.Substring(p.Start, p.Length));
        Assert.Equal(["abc", " ", "1", "2", "3", " x"], pieces);
    }
}
