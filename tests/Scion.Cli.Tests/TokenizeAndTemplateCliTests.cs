using System.Text.Json;
using Scion.Testing;

namespace Scion.Cli.Tests;

public class TokenizeAndTemplateCliTests
{
    [Theory]
    [InlineData("ggml-vocab-llama-spm.gguf")]
    [InlineData("ggml-vocab-gpt-2.gguf")]
    public void TokenizeCommandGivesTheVectorIds(string vocab)
    {
        var cases = VocabVectors.Load(vocab);
        string input = string.Join("\n", cases.Select(c => JsonSerializer.Serialize(c.Text))) + "\n";
        var r = CliRunner.RunWithInput(input, "tokenize", "--model", SharedData.Path("tokenizers", vocab));
        Assert.True(r.ExitCode == 0, r.Err);
        var lines = r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // Empty strings are skipped neither on input nor output: one line per case.
        Assert.Equal(cases.Count, lines.Length);
        for (int i = 0; i < cases.Count; i++)
            Assert.True(cases[i].Ids.SequenceEqual(JsonSerializer.Deserialize<int[]>(lines[i])!), $"case {i} {JsonSerializer.Serialize(cases[i].Text)}: {lines[i]}");
    }

    [Fact]
    public void TokenizeAddsBosWhenAsked()
    {
        var r = CliRunner.RunWithInput("\"Hello\"\n", "tokenize", "--model", BundledModel.Stories260K, "--add-special");
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.StartsWith("[1,", r.Out);
    }

    [Fact]
    public void TokenizeReportsBadLine()
    {
        var r = CliRunner.RunWithInput("\"ok\"\nnot json\n", "tokenize", "--model", SharedData.Path("tokenizers", "ggml-vocab-gpt-2.gguf"));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("line 2", r.Err);
    }

    [Fact]
    public void TemplateCommandRendersEveryExpectedCase()
    {
        var lines = File.ReadAllLines(SharedData.Path("chat-templates", "expected.jsonl")).Where(l => l.Length > 0).ToList();
        foreach (var group in lines.Select(l => JsonDocument.Parse(l).RootElement).GroupBy(e => e.GetProperty("template").GetString()!))
        {
            var cases = group.ToList();
            string input = string.Join("\n", cases.Select(c => JsonSerializer.Serialize(new
            {
                messages = c.GetProperty("messages"),
                add_generation_prompt = c.GetProperty("add_generation_prompt"),
                bos_token = c.GetProperty("bos_token"),
                eos_token = c.GetProperty("eos_token"),
            })));
            var r = CliRunner.RunWithInput(input, "template", "--template", SharedData.Path("chat-templates", group.Key + ".jinja"));
            var outLines = r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(cases.Count, outLines.Length);
            for (int i = 0; i < cases.Count; i++)
            {
                using var o = JsonDocument.Parse(outLines[i]);
                if (cases[i].TryGetProperty("expected", out var expected))
                    Assert.Equal(expected.GetString(), o.RootElement.GetProperty("text").GetString());
                else
                    Assert.True(o.RootElement.TryGetProperty("error", out _), $"{group.Key} case {i} should fail: {outLines[i]}");
            }
        }
    }

    [Fact]
    public void UsageErrorsNameTheProblem()
    {
        var r = CliRunner.Run("generate", "--modle", "x");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("unknown option '--modle'", r.Err);
        Assert.Contains("--model", r.Err);
        var missing = CliRunner.Run("generate", "--model", "/nonexistent/model.gguf", "--prompt", "hi");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("/nonexistent/model.gguf", missing.Err);
        var unknown = CliRunner.Run("frobnicate");
        Assert.Equal(2, unknown.ExitCode);
    }

    [Fact]
    public void InspectDescribesTheModel()
    {
        var r = CliRunner.Run("inspect", "--model", SharedData.Path("golden", "golden-k256-Q4_K_M.gguf"), "--json");
        Assert.True(r.ExitCode == 0, r.Err);
        using var doc = JsonDocument.Parse(r.Out);
        var root = doc.RootElement;
        Assert.Equal("llama", root.GetProperty("architecture").GetString());
        Assert.Equal(256, root.GetProperty("dim").GetInt32());
        var types = root.GetProperty("tensor_types").EnumerateArray().Select(t => t.GetProperty("type").GetString()).ToList();
        Assert.Contains("Q4_K", types);
        Assert.Contains("Q6_K", types);
        var text = CliRunner.Run("inspect", "--model", SharedData.Path("models", "stories260K", "stories260K.bin"));
        Assert.Contains("llama2.c", text.Out);
        Assert.Contains("GQA", text.Out);
    }
}
