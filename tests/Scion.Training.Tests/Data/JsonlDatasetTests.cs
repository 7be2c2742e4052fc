using Scion.Models.Loading;
using Scion.Models.Tokenization;
using Scion.Testing;
using Scion.Training.Autograd;
using Scion.Training.Data;

namespace Scion.Training.Tests.Data;

public class JsonlDatasetTests : IDisposable
{
    private static readonly Lazy<Tokenizer> Stories = new(() =>
    {
        using var loaded = ModelLoader.Load(BundledModel.Stories260K);
        return loaded.RequireTokenizer();
    });

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "scion-data-" + Guid.NewGuid().ToString("N"));

    public JsonlDatasetTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(params string[] lines)
    {
        string path = Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".jsonl");
        File.WriteAllLines(path, lines);
        return path;
    }

    private static string Decode(TrainingExample e) =>
        Stories.Value.Decode(e.Targets.Where(t => t != Tape.IgnoreIndex).ToArray());

    [Fact]
    public void TextTrainsOnEveryTokenAndEndsWithEos()
    {
        var tok = Stories.Value;
        var ds = JsonlDataset.Load(Write("{\"text\": \"Lily had a dog.\"}"), tok, null, 64);
        var e = Assert.Single(ds.Examples);
        Assert.Equal(tok.BosId, e.Tokens[0]);
        Assert.Equal(tok.EosId, e.Tokens[^1]);
        Assert.Equal(e.Tokens.Skip(1), e.Targets.Take(e.Length - 1));
        Assert.Equal(Tape.IgnoreIndex, e.Targets[^1]);
    }

    [Fact]
    public void PromptCompletionTrainsOnTheCompletionOnly()
    {
        var ds = JsonlDataset.Load(Write("{\"prompt\": \"Q: What is the name of Lily's dog? A:\", \"completion\": \" Biscuit\"}"), Stories.Value, null, 64);
        var e = Assert.Single(ds.Examples);
        Assert.Equal("Biscuit</s>", Decode(e).Trim());
    }

    [Fact]
    public void MessagesTrainOnAssistantTurnsOnly()
    {
        string template = File.ReadAllText(SharedData.Path("chat-templates", "Qwen-Qwen2.5-7B-Instruct.jinja"));
        var ds = JsonlDataset.Load(Write(
            "{\"messages\": [{\"role\": \"user\", \"content\": \"Who is Lily?\"}, {\"role\": \"assistant\", \"content\": \"A girl.\"}," +
            " {\"role\": \"user\", \"content\": \"And Tom?\"}, {\"role\": \"assistant\", \"content\": \"Her brother.\"}]}"), Stories.Value, template, 512);
        var e = Assert.Single(ds.Examples);
        string learned = Decode(e);
        Assert.Contains("A girl.", learned);
        Assert.Contains("Her brother.", learned);
        Assert.DoesNotContain("Who is Lily", learned);
        Assert.DoesNotContain("And Tom", learned);
    }

    [Fact]
    public void ABadLineIsReportedWithFileAndLine()
    {
        string path = Write("{\"text\": \"fine\"}", "", "{\"text\": 3}");
        var e = Assert.Throws<InvalidDataException>(() => JsonlDataset.Load(path, Stories.Value, null, 64));
        Assert.Contains($"{path}:3", e.Message);
        path = Write("{\"text\": \"fine\"}", "not json");
        e = Assert.Throws<InvalidDataException>(() => JsonlDataset.Load(path, Stories.Value, null, 64));
        Assert.Contains($"{path}:2", e.Message);
        path = Write("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}");
        e = Assert.Throws<InvalidDataException>(() => JsonlDataset.Load(path, Stories.Value, null, 64));
        Assert.Contains("chat template", e.Message);
    }

    [Theory]
    [InlineData("not json", "expected a JSON object", "found `not json`")]
    [InlineData("{\"text\": \"fine\" x}", "expected a JSON object", "at column 17: `x}`")]
    [InlineData("{\"text\": \"unclosed", "expected a JSON object", "ends before the JSON value is complete")]
    [InlineData("[1, 2]", "expected a JSON object", "found an array")]
    [InlineData("{\"text\": 3}", "field \"text\" must be a string", "found a number")]
    public void JsonErrorsSayWhatWasExpectedAndFoundWithoutParserInternals(string line, string expected, string found)
    {
        string path = Write("{\"text\": \"fine\"}", line);
        var e = Assert.Throws<InvalidDataException>(() => JsonlDataset.Load(path, Stories.Value, null, 64));
        Assert.StartsWith($"{path}:2: ", e.Message);
        Assert.Contains(expected, e.Message);
        Assert.Contains(found, e.Message);
        foreach (var internals in new[] { "LineNumber", "BytePositionInLine", "invalid start of a value", "Path: $" })
            Assert.DoesNotContain(internals, e.Message);
    }

    /// <summary>Lines that parse but cannot be read back: these crashed finetune and eval with InvalidOperationException
    /// ("Cannot read invalid UTF-16 JSON text") or ArgumentException ("An item with the same key has already been added").</summary>
    [Theory]
    [InlineData("{\"text\": \"a\\ud800b\"}", "field \"text\" holds an unpaired UTF-16 surrogate escape \"\\ud800\"")]
    [InlineData("{\"prompt\": \"q\", \"completion\": \"\\udc00\"}", "field \"completion\" holds an unpaired UTF-16 surrogate escape \"\\udc00\"")]
    [InlineData("{\"text\": \"\\ud83e\\ud800\"}", "\"\\ud83e\"")] // a high surrogate followed by another high one
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\\uDBFF\"}]}", "field \"messages[0].content\" holds an unpaired")]
    [InlineData("{\"te\\ud800xt\": \"a\"}", "a key in the top-level object holds an unpaired UTF-16 surrogate escape \"\\ud800\"")]
    [InlineData("{\"text\": \"a\", \"text\": \"b\"}", "key \"text\" appears twice in the top-level object")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"role\": \"assistant\", \"content\": \"x\"}]}", "key \"role\" appears twice in \"messages[0]\"")]
    public void LoneSurrogatesAndRepeatedKeysAreRefusedWithFileLineAndField(string line, string expected)
    {
        string path = Write("{\"text\": \"fine\"}", line);
        var e = Assert.Throws<InvalidDataException>(() => JsonlDataset.Load(path, Stories.Value, null, 64));
        Assert.StartsWith($"{path}:2: ", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void APairedSurrogateEscapeIsText()
    {
        var ds = JsonlDataset.Load(Write("{\"text\": \"llama \\ud83e\\udd99\"}"), Stories.Value, null, 64);
        Assert.Single(ds.Examples);
    }

    [Fact]
    public void MissingOrFolderDataIsNamedWithoutSayingTraining()
    {
        // eval reads the same files: "training data" belongs to training's own messages only.
        var e = Assert.ThrowsAny<IOException>(() => JsonlDataset.Load(Path.Combine(_dir, "missing.jsonl"), Stories.Value, null, 64));
        Assert.Contains("no such file", e.Message);
        Assert.DoesNotContain("raining", e.Message);
        var folder = Assert.ThrowsAny<Exception>(() => JsonlDataset.Load(_dir, Stories.Value, null, 64));
        Assert.Contains("is a folder, expected a JSONL data file", folder.Message);
        Assert.DoesNotContain("raining", Assert.Throws<InvalidDataException>(() => JsonlDataset.Load(Write(""), Stories.Value, null, 64)).Message);
    }

    [Fact]
    public void ExamplesLongerThanTheMaximumAreCountedWithTheLongestLength()
    {
        string story = string.Join(' ', Enumerable.Repeat("Once upon a time there was a girl named Lily.", 6));
        int full = Stories.Value.Encode(story).Length + 1; // with EOS
        var ds = JsonlDataset.Load(Write($"{{\"text\": \"{story}\"}}", "{\"text\": \"Hi.\"}", $"{{\"text\": \"{story}\"}}"), Stories.Value, null, 16);
        Assert.Equal(2, ds.Truncated);
        Assert.Equal(16, ds.MaxTokens);
        Assert.Equal(full, ds.LongestTokens);
        Assert.All(ds.Examples, x => Assert.True(x.Length <= 16));
        var roomy = JsonlDataset.Load(Write($"{{\"text\": \"{story}\"}}"), Stories.Value, null, full);
        Assert.Equal(0, roomy.Truncated);
        Assert.Equal(full, roomy.LongestTokens);
    }

    [Fact]
    public void AFileWithoutUsableExamplesIsRefused()
    {
        var e = Assert.Throws<InvalidDataException>(() => JsonlDataset.Load(Write("", "  "), Stories.Value, null, 64));
        Assert.Contains("no usable example", e.Message);
        // The completion lies beyond the maximum length: nothing to learn.
        e = Assert.Throws<InvalidDataException>(() =>
            JsonlDataset.Load(Write("{\"prompt\": \"Once upon a time there was a girl\", \"completion\": \" Lily\"}"), Stories.Value, null, 4));
        Assert.Contains("no usable example", e.Message);
    }

    [Fact]
    public void PackingRespectsTheTokenBudgetAndSequenceBoundaries()
    {
        var examples = Trainer.TinyTraining.Examples(30, 4);
        var order = new DataOrder(examples, 32, seed: 1);
        var position = new DataPosition(0, 0);
        int seen = 0;
        while (position.Epoch == 0)
        {
            (var batch, position) = order.Next(position);
            Assert.True(batch.Tokens <= 32 || batch.SequenceIds.Distinct().Count() == 1);
            for (int t = 1; t < batch.Tokens; t++)
                if (batch.SequenceIds[t] != batch.SequenceIds[t - 1]) Assert.Equal(0, batch.Positions[t]);
                else Assert.Equal(batch.Positions[t - 1] + 1, batch.Positions[t]);
            seen += batch.SequenceIds.Distinct().Count();
        }
        Assert.Equal(30, seen);
        Assert.Equal(new DataOrder(examples, 32, seed: 1).EpochOrder(1), order.EpochOrder(1));
        Assert.NotEqual(order.EpochOrder(0), order.EpochOrder(1));
        var (train, val) = DataOrder.Split(examples, 0.2, 5);
        Assert.Equal(24, train.Count);
        Assert.Equal(6, val.Count);
        Assert.Empty(train.Intersect(val));
    }
}
