using Scion.Testing;

namespace Scion.Cli.Tests;

public class ChatCliTests
{
    [Fact]
    public void PipedChatAnswersEachLineAndHonoursCommands()
    {
        var r = CliRunner.RunWithInput("Once upon a time\n/reset\nThe cat\n/exit\nnever read\n", "chat",
            "--model", BundledModel.Stories260K, "--temperature", "0", "--max-tokens", "8");
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Contains("(history cleared)", r.Err);
        // Two replies, each ending in a newline, and nothing after /exit.
        Assert.Equal(2, r.Err.Split('\n').Count(l => l.StartsWith("[8 tokens", StringComparison.Ordinal) || l.StartsWith("[", StringComparison.Ordinal) && l.Contains("tokens/s")));
        // The replies are the library's: the second after /reset sees no history.
        var session = Session();
        string first = session.Send("Once upon a time", Greedy(8)).Text;
        session.Reset();
        string second = session.Send("The cat", Greedy(8)).Text;
        Assert.Equal($"{first}\n{second}\n", r.Out);
    }

    [Fact]
    public void PipedLinesAreOneConversation()
    {
        var r = CliRunner.RunWithInput("Once upon a time\nThe cat\n", "chat", "--model", BundledModel.Stories260K, "--temperature", "0", "--max-tokens", "8");
        Assert.True(r.ExitCode == 0, r.Err);
        var session = Session();
        string first = session.Send("Once upon a time", Greedy(8)).Text;
        string second = session.Send("The cat", Greedy(8)).Text;
        var fresh = Session().Send("The cat", Greedy(8)).Text;
        Assert.Equal($"{first}\n{second}\n", r.Out);
        // The history matters here: without it the second reply would differ (else this test could not tell).
        Assert.NotEqual(fresh, second);
    }

    private static Scion.Models.Generation.GenerationOptions Greedy(int n) =>
        new() { MaxTokens = n, Sampling = Scion.Models.Sampling.SamplingOptions.Greedy };

    private static Scion.Models.Generation.ChatSession Session()
    {
        var loaded = Scion.Models.Loading.ModelLoader.Load(BundledModel.Stories260K);
        return new Scion.Models.Generation.ChatSession(loaded.Model, loaded.Tokenizer!, loaded.ChatTemplate);
    }

    [Fact]
    public void BrokenTemplateIsAClearError()
    {
        string path = Path.Combine(Path.GetTempPath(), $"scion-bad-{Guid.NewGuid():N}.jinja");
        File.WriteAllText(path, "{% for m in messages %}{{ m.content }");
        try
        {
            var r = CliRunner.RunWithInput("hi\n", "chat", "--model", BundledModel.Stories260K, "--template", path);
            Assert.Equal(1, r.ExitCode);
            Assert.Contains("chat template", r.Err);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
