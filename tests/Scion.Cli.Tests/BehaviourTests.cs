using System.Text.Json;
using System.Text.RegularExpressions;
using Scion.Cli.CommandLine;
using Scion.Models.Formats;

namespace Scion.Cli.Tests;

/// <summary>Behaviour users were surprised by (issue 10): each test here failed before the fix.</summary>
public class BehaviourTests
{
    [Fact]
    public void WithoutSeedARandomSeedIsPrintedAndReproducesTheRun()
    {
        var first = CliRunner.Run("generate", "-p", "Once upon a time", "-n", "16", "--json");
        Assert.True(first.ExitCode == 0, first.Err);
        var m = Regex.Match(first.Err, @"seed (\d+) \(pass --seed \1 to reproduce\)");
        Assert.True(m.Success, first.Err);
        var doc = JsonDocument.Parse(first.Out).RootElement;
        Assert.Equal(m.Groups[1].Value, doc.GetProperty("seed").GetUInt64().ToString());
        var again = CliRunner.Run("generate", "-p", "Once upon a time", "-n", "16", "--json", "--seed", m.Groups[1].Value);
        Assert.Equal(doc.GetProperty("text").GetString(), JsonDocument.Parse(again.Out).RootElement.GetProperty("text").GetString());
        Assert.DoesNotContain("pass --seed", again.Err);
    }

    [Fact]
    public void EverySeveralStopStringsCounts()
    {
        // Greedy: ", there was a little girl named Lily." Before, only the last --stop was kept.
        var r = CliRunner.Run("generate", "-p", "Once upon a time", "--greedy", "-n", "64", "--stop", "Lily", "--stop", "girl", "--json");
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Equal(", there was a little ", JsonDocument.Parse(r.Out).RootElement.GetProperty("text").GetString());
        var other = CliRunner.Run("generate", "-p", "Once upon a time", "--greedy", "-n", "64", "--stop", "girl", "--stop", "Lily", "--json");
        Assert.Equal(", there was a little ", JsonDocument.Parse(other.Out).RootElement.GetProperty("text").GetString());
    }

    [Fact]
    public void ChatTakesStop()
    {
        var plain = CliRunner.RunWithInput("Once upon a time\n", "chat", "--temperature", "0", "-n", "24");
        Assert.True(plain.ExitCode == 0, plain.Err);
        string reply = plain.Out.TrimEnd('\n');
        var words = reply.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(words.Length >= 4, reply);
        string stop = words[3];
        var stopped = CliRunner.RunWithInput("Once upon a time\n", "chat", "--temperature", "0", "-n", "24", "--stop", stop);
        Assert.True(stopped.ExitCode == 0, stopped.Err);
        Assert.Equal(reply[..reply.IndexOf(stop, StringComparison.Ordinal)], stopped.Out.TrimEnd('\n'));
        Assert.Contains("stop]", stopped.Err);
    }

    [Fact]
    public void ChatGoesOnWhenTheConversationOutgrowsTheContext()
    {
        string input = string.Concat(Enumerable.Range(0, 10).Select(i => $"Tell me a story about the dog number {i}\n"));
        var r = CliRunner.RunWithInput(input, "chat", "--temperature", "0", "-n", "16", "-c", "96", "--system", "Be kind.");
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Contains("context full: dropped the", r.Err);
        Assert.Contains("kept the system prompt", r.Err);
        Assert.Equal(10, r.Err.Split('\n').Count(l => l.StartsWith('[') && l.Contains("tokens/s")));
    }

    [Fact]
    public void FolderWhereAFileIsExpectedAndTheReverseAreNamed()
    {
        string dir = Bundled.TempDir();
        var data = CliRunner.Run("finetune", "--data", dir, "--output", Path.Combine(dir, "out"));
        Assert.Equal(1, data.ExitCode);
        Assert.Contains("is a directory; expected a file (training data)", data.Err);
        string file = Path.Combine(dir, "adapter.txt");
        File.WriteAllText(file, "x");
        var adapter = CliRunner.Run("generate", "-p", "hi", "--adapter", file);
        Assert.Equal(1, adapter.ExitCode);
        Assert.Contains("is a file; expected a folder (adapter)", adapter.Err);
        var output = CliRunner.Run("create", "--config", "tiny", "--output", dir);
        Assert.Equal(1, output.ExitCode);
        Assert.Contains("is a directory; expected a file name to write", output.Err);
        var prompts = CliRunner.Run("logits", "--prompts-file", dir);
        Assert.Contains("is a directory", prompts.Err);
        // merge: an existing folder named like a GGUF file is not turned into a Hugging Face folder.
        string gguf = Path.Combine(dir, "merged.gguf");
        Directory.CreateDirectory(gguf);
        Directory.CreateDirectory(Path.Combine(dir, "adapter"));
        var merge = CliRunner.Run("merge", "--adapter", Path.Combine(dir, "adapter"), "--output", gguf);
        Assert.Equal(1, merge.ExitCode);
        Assert.Contains("expected a GGUF file name", merge.Err);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void OutputsAreNotOverwrittenWithoutForce()
    {
        string dir = Bundled.TempDir();
        string path = Path.Combine(dir, "m.gguf");
        File.WriteAllText(path, "precious");
        var r = CliRunner.Run("create", "--config", "tiny", "--type", "Q8_0", "--output", path);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("already exists; pass --force", r.Err);
        Assert.Equal("precious", File.ReadAllText(path));
        var q = CliRunner.Run("quantize", "--type", "Q8_0", "--output", path);
        Assert.Equal(1, q.ExitCode);
        Assert.Equal("precious", File.ReadAllText(path));
        var forced = CliRunner.Run("create", "--config", "tiny", "--type", "Q8_0", "--output", path, "--force", "--json");
        Assert.True(forced.ExitCode == 0, forced.Err);
        using (var f = GgufFile.Open(path))
        {
            Assert.Equal(f.Tensors.Count, JsonDocument.Parse(forced.Out).RootElement.GetProperty("tensors").GetInt32());
            Assert.Equal(new FileInfo(path).Length, JsonDocument.Parse(forced.Out).RootElement.GetProperty("bytes").GetInt64());
        }
        var quantized = CliRunner.Run("quantize", "-m", path, "--type", "Q4_0", "-o", Path.Combine(dir, "q4.gguf"), "--json");
        Assert.True(quantized.ExitCode == 0, quantized.Err);
        var summary = JsonDocument.Parse(quantized.Out).RootElement;
        Assert.Equal(new FileInfo(Path.Combine(dir, "q4.gguf")).Length, summary.GetProperty("bytes").GetInt64());
        using (var f = GgufFile.Open(Path.Combine(dir, "q4.gguf")))
            Assert.Equal(f.Tensors.Count(t => t.Type == Scion.Tensors.GgmlType.Q4_0), summary.GetProperty("tensor_types").GetProperty("Q4_0").GetInt32());

        // An adapter folder with files in it is not trained over either.
        string adapter = Path.Combine(dir, "adapter");
        Directory.CreateDirectory(adapter);
        File.WriteAllText(Path.Combine(adapter, "adapter_config.json"), "{}");
        File.WriteAllText(Path.Combine(dir, "d.jsonl"), "{\"text\": \"Once upon a time\"}\n");
        var ft = CliRunner.Run("finetune", "--data", Path.Combine(dir, "d.jsonl"), "--output", adapter, "--steps", "1");
        Assert.Equal(1, ft.ExitCode);
        Assert.Contains("pass --force", ft.Err);
        Assert.Equal("{}", File.ReadAllText(Path.Combine(adapter, "adapter_config.json")));
        Directory.Delete(dir, true);
    }

    [Fact]
    public void InterruptedWriteLeavesNoTemporaryAndExits130()
    {
        string dir = Bundled.TempDir();
        string path = Path.Combine(dir, "m.gguf");
        using var interrupt = new CancellationTokenSource();
        // Ctrl-C arrives while the second tensor is being written (the cancel is raised from the progress line itself).
        var err = new CancelOnText("[   2/", interrupt);
        int code = CliApp.Run(["create", "--config", "tiny", "--type", "F16", "--output", path], new CliIo(new StringReader(""), new StringWriter(), err), interrupt.Token);
        Assert.True(code == 130, err.ToString());
        Assert.Contains("interrupted", err.ToString());
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir));
        Directory.Delete(dir, true);
    }

    [Fact]
    public void FinetuneAndEvalDefaultSeqLenToTheContextAndWarnAboutLongExamples()
    {
        string dir = Bundled.TempDir();
        string data = Path.Combine(dir, "long.jsonl");
        // Far longer than stories260K's context.
        string story = string.Join(' ', Enumerable.Repeat("Lily saw a big red ball in the park.", 120));
        File.WriteAllLines(data, [JsonSerializer.Serialize(new { text = story }), JsonSerializer.Serialize(new { text = "Once upon a time" })]);
        int context = JsonDocument.Parse(CliRunner.Run("inspect", "--json").Out).RootElement.GetProperty("context_length").GetInt32();
        string shortOnly = Path.Combine(dir, "short.jsonl");
        File.WriteAllLines(shortOnly, [JsonSerializer.Serialize(new { text = "Once upon a time" })]);
        long shortTokens = JsonDocument.Parse(CliRunner.Run("eval", "--data", shortOnly, "--json").Out).RootElement.GetProperty("tokens").GetInt64();
        var eval = CliRunner.Run("eval", "--data", data, "--json");
        Assert.True(eval.ExitCode == 0, eval.Err);
        Assert.Contains($"1 of 2 examples exceed the model's context of {context} tokens", eval.Err);
        // The long example is cut to the context (before: --seq-len defaulted to 512 whatever the model's context).
        Assert.Equal(context - 1 + shortTokens, JsonDocument.Parse(eval.Out).RootElement.GetProperty("tokens").GetInt64());
        var ft = CliRunner.Run("finetune", "--data", data, "--output", Path.Combine(dir, "a"), "--steps", "1", "--batch-tokens", "1024");
        Assert.True(ft.ExitCode == 0, ft.Err);
        Assert.Contains($"exceed the model's context of {context} tokens", ft.Err);
        var tooLong = CliRunner.Run("eval", "--data", data, "--seq-len", "4096");
        Assert.Equal(2, tooLong.ExitCode);
        Assert.Contains($"more than the model's context length of {context}", tooLong.Err);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void FinetuneTakesAChatTemplateFile()
    {
        string dir = Bundled.TempDir();
        string data = Path.Combine(dir, "chat.jsonl");
        File.WriteAllText(data, "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\", \"content\": \"hello\"}]}\n");
        string template = Path.Combine(dir, "t.jinja");
        File.WriteAllText(template, "{{ raise_exception('this template was used') }}");
        var r = CliRunner.Run("finetune", "--data", data, "--output", Path.Combine(dir, "a"), "--steps", "1", "--chat-template", template);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("this template was used", r.Err);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void TemplateTakesTheModelsOwnTemplateAndAPinnedDate()
    {
        string dir = Bundled.TempDir();
        string model = Path.Combine(dir, "vocab.gguf");
        new GgufWriter().Set("general.architecture", "llama")
            .Set("tokenizer.chat_template", "{% for m in messages %}[{{ m.role }}] {{ m.content }}{% endfor %} {{ strftime_now('%d %b %Y') }} {{ tools is none }}")
            .Write(model);
        const string input = "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}\n";
        var r = CliRunner.RunWithInput(input, "template", "--model", model, "--date", "2024-07-26");
        Assert.True(r.ExitCode == 0, r.Err + r.Out);
        Assert.Equal("[user] hi 26 Jul 2024 True", JsonDocument.Parse(r.Out).RootElement.GetProperty("text").GetString());
        var badDate = CliRunner.RunWithInput(input, "template", "--model", model, "--date", "26/07/2024");
        Assert.Equal(2, badDate.ExitCode);
        Assert.Contains("YYYY-MM-DD", badDate.Err);
        var none = CliRunner.RunWithInput(input, "template");
        Assert.Equal(1, none.ExitCode);
        Assert.Contains("has no chat template", none.Err);
        Directory.Delete(dir, true);
    }

    /// <summary>A stderr that raises the interrupt when a given text is written (a deterministic Ctrl-C).</summary>
    private sealed class CancelOnText(string text, CancellationTokenSource cancel) : StringWriter
    {
        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            if (value?.Contains(text, StringComparison.Ordinal) == true) cancel.Cancel();
        }
    }
}
