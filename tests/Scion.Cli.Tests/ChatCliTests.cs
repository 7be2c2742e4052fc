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
