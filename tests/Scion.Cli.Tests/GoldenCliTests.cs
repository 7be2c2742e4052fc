using System.Text.Json;
using Scion.Testing;

namespace Scion.Cli.Tests;

/// <summary>Every golden of ../shared/golden through `scion logits` and `scion generate`, as a user would run them.</summary>
public class GoldenCliTests
{
    public static TheoryData<string, string, double, bool, string[]> Cases => new()
    {
        { "golden-tiny-F32.gguf", "golden-tiny-F32.jsonl", 1e-3, true, [] },
        { "golden-tiny-f16.gguf", "golden-tiny-f16.jsonl", 1e-2, true, [] },
        { "golden-tiny-BF16.gguf", "golden-tiny-BF16.jsonl", 5e-2, false, [] },
        { "golden-tiny-Q8_0.gguf", "golden-tiny-Q8_0.jsonl", 5e-2, false, [] },
        { "golden-tiny-Q4_0.gguf", "golden-tiny-Q4_0.jsonl", 5e-2, false, [] },
        { "hf-golden-tiny", "golden-tiny-f16.jsonl", 1e-2, true, ["--tokenizer", "golden-tiny-f16.gguf"] },
        { "golden-tiny-F32.gguf", "lora-golden-tiny.jsonl", 1e-2, true, ["--adapter", "lora-golden-tiny"] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void LogitsCommandMatchesGolden(string model, string golden, double tolerance, bool greedyMustMatch, string[] extra)
    {
        var args = new List<string> { "logits", "--model", SharedData.Path("golden", model), "--prompts-file", SharedData.Path("golden", "prompts.txt"), "--top", "40", "--greedy", "16" };
        for (int i = 0; i < extra.Length; i += 2) args.AddRange([extra[i], SharedData.Path("golden", extra[i + 1])]);
        var r = CliRunner.Run([.. args]);
        Assert.True(r.ExitCode == 0, r.Err);
        CompareToGolden(r.Out, SharedData.Path("golden", golden), tolerance, greedyMustMatch);
    }

    [Fact]
    public void Stories260KLogitsFromBothFormats()
    {
        foreach (var model in new[] { "stories260K.gguf", "stories260K.bin" })
        {
            var r = CliRunner.Run("logits", "--model", SharedData.Path("models", "stories260K", model),
                "--prompts-file", SharedData.Path("golden", "prompts-stories.txt"), "--top", "40", "--greedy", "64");
            Assert.True(r.ExitCode == 0, r.Err);
            CompareToGolden(r.Out, SharedData.Path("golden", "stories260K.jsonl"), 1e-3, true);
        }
    }

    [Theory]
    [InlineData("stories260K.gguf")]
    [InlineData("stories260K.bin")]
    public void GenerateTellsTheStory(string model)
    {
        var r = CliRunner.Run("generate", "--model", model.EndsWith(".gguf") ? BundledModel.Stories260K : SharedData.Path("models", "stories260K", model), "--prompt", "Once upon a time",
            "--temperature", "0", "--max-tokens", "64");
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.StartsWith("Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She wanted to play with it, but it was too high.", r.Out);
    }

    [Fact]
    public void GenerateJsonIsStructured()
    {
        var r = CliRunner.Run("generate", "--model", BundledModel.Stories260K, "--prompt", "Once upon a time",
            "--temperature", "0.9", "--top-k", "20", "--top-p", "0.9", "--seed", "7", "--max-tokens", "20", "--json");
        Assert.True(r.ExitCode == 0, r.Err);
        using var doc = JsonDocument.Parse(r.Out);
        Assert.Equal(20, doc.RootElement.GetProperty("tokens").GetArrayLength());
        Assert.Equal("length", doc.RootElement.GetProperty("finish_reason").GetString());
        // Same seed, same text.
        var again = CliRunner.Run("generate", "--model", BundledModel.Stories260K, "--prompt", "Once upon a time",
            "--temperature", "0.9", "--top-k", "20", "--top-p", "0.9", "--seed", "7", "--max-tokens", "20", "--json");
        Assert.Equal(doc.RootElement.GetProperty("text").GetString(), JsonDocument.Parse(again.Out).RootElement.GetProperty("text").GetString());
    }

    [Fact]
    public void StopStringEndsGeneration()
    {
        var r = CliRunner.Run("generate", "--model", BundledModel.Stories260K, "--prompt", "Once upon a time",
            "--temperature", "0", "--max-tokens", "64", "--stop", "Lily", "--json");
        using var doc = JsonDocument.Parse(r.Out);
        Assert.Equal(", there was a little girl named ", doc.RootElement.GetProperty("text").GetString());
        // A reply that starts with a word keeps the space between prompt and reply.
        var word = CliRunner.Run("generate", "--model", BundledModel.Stories260K, "--prompt", "Once upon a time, there was a little girl named",
            "--temperature", "0", "--max-tokens", "2", "--json");
        Assert.StartsWith(" Lily", JsonDocument.Parse(word.Out).RootElement.GetProperty("text").GetString());
        Assert.Equal("stop", doc.RootElement.GetProperty("finish_reason").GetString());
    }

    private static void CompareToGolden(string output, string goldenPath, double tolerance, bool greedyMustMatch)
    {
        var golden = GoldenCase.Load(goldenPath);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(golden.Count, lines.Length);
        for (int i = 0; i < golden.Count; i++)
        {
            using var doc = JsonDocument.Parse(lines[i]);
            var root = doc.RootElement;
            Assert.Equal(golden[i].Prompt, root.GetProperty("prompt").GetString());
            Assert.Equal(golden[i].Tokens, root.GetProperty("tokens").EnumerateArray().Select(e => e.GetInt32()).ToArray());
            var top = root.GetProperty("top").EnumerateArray().ToArray();
            Assert.Equal(golden[i].Top.Length, top.Length);
            for (int p = 0; p < top.Length; p++)
            {
                var ours = top[p].GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
                var ourLogits = top[p].GetProperty("logits").EnumerateArray().Select(e => e.GetDouble()).ToArray();
                var g = golden[i].Top[p];
                foreach (var id in g.Ids.Take(5)) Assert.Contains(id, ours);
                // Every golden top-20 id is compared (../shared/README.md): we list 40, so a golden id that ranks just
                // below our 20th is still found, and one we do not list at all is a failure, not a skip.
                for (int k = 0; k < g.Ids.Length; k++)
                {
                    int at = Array.IndexOf(ours, g.Ids[k]);
                    Assert.True(at >= 0, $"prompt {i} position {p}: golden top-20 id {g.Ids[k]} is not in our top-{ours.Length}");
                    double err = Math.Abs(ourLogits[at] - g.Logits[k]) / g.Std;
                    Assert.True(err <= tolerance, $"prompt {i} position {p} id {g.Ids[k]}: |Δ|/std {err:E2} > {tolerance:E1}");
                }
            }
            var greedy = root.GetProperty("greedy").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            if (greedyMustMatch) Assert.Equal(golden[i].Greedy, greedy.Take(golden[i].Greedy.Length).ToArray());
        }
    }
}
