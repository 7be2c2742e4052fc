using System.Text.Json;
using Scion.Cli;
using Scion.Cli.CommandLine;
using Scion.Models.Adapters;
using Scion.Models.Generation;
using Scion.Models.Loading;
using Scion.Models.Sampling;
using Scion.Testing;
using BundledModel = Scion.Testing.BundledModel;

namespace Scion.Cli.Tests;

/// <summary>
/// End-to-end on stories260K: teach it facts it cannot know (names of pets, a boat, a town), then check held-out
/// paraphrases of the questions with `scion eval` and greedy generation, and that merge and resume work.
/// </summary>
public class FinetuneCommandTests : IDisposable
{
    // The data set documented in docs/training.md: four invented facts, eight phrasings each; the last two held out.
    private static readonly (string Answer, string[] Questions)[] Facts =
    [
        ("Biscuit", ["What is the name of Lily's dog?", "What is Lily's dog called?", "What did Lily name her dog?", "Lily has a dog. What is its name?", "Tell me the name of Lily's dog.", "Who is Lily's dog?", "What name does Lily's dog have?", "How is Lily's dog called?"]),
        ("Zappy", ["What is the name of Tom's boat?", "What is Tom's boat called?", "What did Tom name his boat?", "Tom has a boat. What is its name?", "Tell me the name of Tom's boat.", "Which boat is Tom's?", "What name does Tom's boat have?", "How is Tom's boat called?"]),
        ("Plumford", ["Where does Sue live?", "What town does Sue live in?", "In which town is Sue's house?", "Sue lives in a town. What is it called?", "Tell me where Sue lives.", "What is the name of Sue's town?", "Which town is Sue from?", "Where is Sue's home?"]),
        ("Mittens", ["What is the name of Ben's cat?", "What is Ben's cat called?", "What did Ben name his cat?", "Ben has a cat. What is its name?", "Tell me the name of Ben's cat.", "Who is Ben's cat?", "What name does Ben's cat have?", "How is Ben's cat called?"]),
    ];

    private static IEnumerable<(string Question, string Answer)> HeldOut => Facts.SelectMany(f => f.Questions[^2..].Select(q => (q, f.Answer)));

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "scion-cli-ft-" + Guid.NewGuid().ToString("N"));
    private readonly string _model = BundledModel.Stories260K;

    public FinetuneCommandTests()
    {
        Directory.CreateDirectory(_dir);
        File.WriteAllLines(Path.Combine(_dir, "train.jsonl"), Facts.SelectMany(f => f.Questions[..^2].Select(q => Line(q, f.Answer))));
        File.WriteAllLines(Path.Combine(_dir, "heldout.jsonl"), HeldOut.Select(h => Line(h.Question, h.Answer)));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Line(string question, string answer) =>
        JsonSerializer.Serialize(new { prompt = $"Q: {question} A:", completion = $" {answer}." });

    private static (int Code, string Out, string Err) Cli(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CliApp.Run(args, new StringReader(""), stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private string P(string name) => Path.Combine(_dir, name);

    private double EvalLoss(string? adapter)
    {
        string[] args = ["eval", "--model", _model, "--data", P("heldout.jsonl"), "--json"];
        if (adapter is not null) args = [.. args, "--adapter", adapter];
        var (code, output, err) = Cli(args);
        Assert.True(code == 0, err);
        return JsonDocument.Parse(output).RootElement.GetProperty("loss").GetDouble();
    }

    private static string Answer(string model, string? adapter, string question)
    {
        using var loaded = ModelLoader.Load(model);
        var tok = loaded.RequireTokenizer();
        var lora = adapter is null ? null : AdapterLoader.Load(adapter, loaded.Model);
        var result = new TextGenerator(loaded.Model, tok).Generate(tok.Encode($"Q: {question} A:"),
            new GenerationOptions { MaxTokens = 5, Sampling = SamplingOptions.Greedy, Adapter = lora });
        return result.Text;
    }

    [Fact]
    public void LearnsHeldOutFactsAndMerges()
    {
        double before = EvalLoss(null);
        var (code, output, err) = Cli("finetune", "--model", _model, "--data", P("train.jsonl"), "--validation", P("heldout.jsonl"),
            "--output", P("adapter"), "--targets", "all-linear", "--rank", "8", "--steps", "30", "--lr", "2e-2", "--batch-tokens", "512",
            "--warmup", "3", "--schedule", "linear", "--seed", "1");
        Assert.True(code == 0, err);
        Assert.Contains("step 30/30", err);
        var summary = JsonDocument.Parse(output).RootElement;
        Assert.True(summary.GetProperty("steps").GetInt32() == 30);
        // Useful FLOP/s and their share of the FMA peak measured on the trainer's threads, in the summary and the log.
        double flops = summary.GetProperty("flops_per_s").GetDouble(), peak = summary.GetProperty("fma_peak_flops").GetDouble();
        Assert.True(flops > 0 && peak > 0, output);
        Assert.Equal(Math.Round(flops / peak, 4), summary.GetProperty("peak_fraction").GetDouble(), 3);
        Assert.Contains("fp32 FMA peak", err);
        Assert.Contains("GFLOP/s (", err);
        Assert.Equal(30, File.ReadAllLines(P("adapter/metrics.jsonl")).Count(l => l.Contains("\"loss\"")));
        double after = EvalLoss(P("adapter"));
        Assert.True(after < before / 3, $"held-out loss {before} → {after}");
        Assert.DoesNotContain("Biscuit", Answer(_model, null, Facts[0].Questions[^1]));
        // Held-out phrasings answered by greedy decoding: the base knows none; the adapter most (the documented run: all 8).
        var answers = HeldOut.Select(h => (h.Answer, Got: Answer(_model, P("adapter"), h.Question).Trim())).ToArray();
        int correct = answers.Count(a => a.Got.StartsWith(a.Answer, StringComparison.Ordinal));
        Assert.True(correct >= 6, string.Join(" | ", answers.Select(a => a.Got)));

        (code, _, err) = Cli("merge", "--model", _model, "--adapter", P("adapter"), "--output", P("merged.gguf"));
        Assert.True(code == 0, err);
        // The merged model answers like base + adapter (a training question: held-out ones may sit near a greedy tie).
        foreach (var (_, questions) in Facts)
            Assert.Equal(Answer(_model, P("adapter"), questions[0]), Answer(P("merged.gguf"), null, questions[0]));
    }

    [Fact]
    public void InterruptWritesACheckpointAndResumeFinishes()
    {
        string[] args = ["--model", _model, "--data", P("train.jsonl"), "--output", P("run"), "--steps", "4", "--batch-tokens", "128", "--method", "dora"];
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        var err = new StringWriter();
        int code = CliApp.Run(["finetune", .. args], new CliIo(new StringReader(""), new StringWriter(), err), cancelled.Token);
        Assert.Equal(130, code);
        Assert.True(File.Exists(P("run/checkpoint-0/trainer_state.bin")), err.ToString());

        // A damaged checkpoint description is named, not a JsonException with a stack trace.
        string json = P("run/checkpoint-0/trainer_state.json");
        string saved = File.ReadAllText(json);
        File.WriteAllText(json, "");
        var (bad, _, badErr) = Cli(["finetune", .. args, "--resume", P("run")]);
        Assert.Equal(1, bad);
        Assert.Contains($"error: {json}: the file is empty", badErr);
        Assert.DoesNotContain("internal error", badErr);
        File.WriteAllText(json, saved);

        var (code2, output, err2) = Cli(["finetune", .. args, "--resume", P("run")]);
        Assert.True(code2 == 0, err2);
        Assert.Contains("resumed from", err2);
        Assert.True(File.Exists(P("run/adapter_model.safetensors")));
        Assert.Contains("\"steps\":4", output);
    }

    [Fact]
    public void BadDataIsReportedWithFileAndLine()
    {
        File.WriteAllLines(P("bad.jsonl"), ["{\"text\": \"ok\"}", "{\"prompt\": 1, \"completion\": \"x\"}"]);
        var (code, _, err) = Cli("finetune", "--model", _model, "--data", P("bad.jsonl"), "--output", P("never"));
        Assert.Equal(1, code);
        Assert.Contains($"{P("bad.jsonl")}:2", err);
        Assert.False(Directory.Exists(P("never")));
        (code, _, err) = Cli("finetune", "--model", _model, "--data", P("bad.jsonl"), "--output", P("never"), "--method", "qlora");
        Assert.Equal(2, code);
        Assert.Contains("--method", err);

        // Lines that parse but cannot be read back once crashed both commands without naming the line.
        File.WriteAllLines(P("surrogate.jsonl"), ["{\"text\": \"ok\"}", "{\"text\": \"x\\ud800\"}"]);
        File.WriteAllLines(P("twice.jsonl"), ["{\"prompt\": \"a\", \"completion\": \"b\", \"prompt\": \"c\"}"]);
        foreach (var (file, expected) in new[] { ("surrogate.jsonl", $"{P("surrogate.jsonl")}:2: field \"text\""), ("twice.jsonl", $"{P("twice.jsonl")}:1: key \"prompt\" appears twice") })
        {
            (code, _, err) = Cli("finetune", "--model", _model, "--data", P(file), "--output", P("never"));
            Assert.Equal(1, code);
            Assert.Contains(expected, err);
            Assert.DoesNotContain("internal error", err);
            (code, _, err) = Cli("eval", "--model", _model, "--data", P(file));
            Assert.Equal(1, code);
            Assert.Contains(expected, err);
        }
        Assert.False(Directory.Exists(P("never")));
    }
}
