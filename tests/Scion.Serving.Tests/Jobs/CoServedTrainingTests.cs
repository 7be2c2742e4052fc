using Scion.Models.Llama;
using Scion.Models.Sampling;
using Scion.Serving.Engine;
using Scion.Serving.Jobs;
using Scion.Tensors;
using Scion.Training.Data;
using Scion.Training.Model;
using Scion.Training.Optim;
using Scion.Training.Peft;
using Scion.Training.Trainer;

namespace Scion.Serving.Tests.Jobs;

/// <summary>Training jobs in the engine loop: inference output is unchanged by them, and a co-served job's adapter is
/// byte for byte the one a standalone run writes.</summary>
public sealed class CoServedTrainingTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "scion-coserve-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private static readonly TrainerOptions Trainer = new() { Steps = 12, LearningRate = 5e-3f, BatchTokens = 32, GradAccum = 2, Seed = 5, CheckpointEvery = 4 };
    private static readonly PeftOptions Peft = new() { Rank = 2, Alpha = 4, Targets = null };

    /// <summary>Sequences with a rule to learn (next = 3·prev + 1 mod 64).</summary>
    private static List<TrainingExample> Data()
    {
        var rng = new Xoshiro256(8);
        var list = new List<TrainingExample>();
        for (int i = 0; i < 24; i++)
        {
            int n = 6 + rng.NextInt(8);
            var tokens = new int[n];
            tokens[0] = rng.NextInt(64);
            for (int t = 1; t < n; t++) tokens[t] = (3 * tokens[t - 1] + 1) % 64;
            list.Add(TrainingExample.FromMask(tokens, [.. Enumerable.Range(0, n).Select(t => t > 0)], i + 1, 64));
        }
        return list;
    }

    private FineTuner Tuner(LlamaModel model, string name) =>
        new(new TrainingModel(model), Peft, Trainer, Data(), null, Path.Combine(_dir, name));

    private sealed class Listener : ITrainingJobListener
    {
        public readonly TaskCompletionSource<string> Ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public readonly List<long> Steps = [];
        public readonly List<long> Checkpoints = [];
        public bool StartedOnEngineThread;

        public void Started(TrainingJob job, FineTuner tuner)
        {
            StartedOnEngineThread = Thread.CurrentThread.Name == "scion-engine";
            tuner.StepCompleted += m => Steps.Add(m.Step);
            tuner.CheckpointSaved += (step, _) => Checkpoints.Add(step);
        }

        public void Succeeded(TrainingJob job, TrainResult result) => Ended.TrySetResult("succeeded");
        public void Failed(TrainingJob job, Exception error) => Ended.TrySetResult("failed: " + error.Message);
        public void Cancelled(TrainingJob job) => Ended.TrySetResult("cancelled");
    }

    private static EngineRequest Greedy(int[] prompt, int maxTokens) =>
        new() { PromptTokens = prompt, MaxTokens = maxTokens, Sampling = SamplingOptions.Greedy, IgnoreEos = true };

    [Fact]
    public async Task AJobTrainsWhileRequestsRunAndNeitherChangesTheOther()
    {
        using (var alone = EngineFixture.NewTiny(GgmlType.Q8_0)) Tuner(alone, "alone").Run();

        using var model = EngineFixture.NewTiny(GgmlType.Q8_0);
        var prompts = Enumerable.Range(0, 6).Select(i => EngineFixture.Tokens(5 + i, (ulong)(30 + i))).ToArray();
        var expected = prompts.Select(p => EngineFixture.Run(model, p, 10).Tokens).ToArray();

        // Share 0.5 so slices follow steps while the requests run, and the rest trains while the engine is idle.
        await using var engine = new ServingEngine(model, null, new EngineOptions { TrainingShare = 0.5 });
        var queue = new TrainingJobQueue(engine, model);
        var listener = new Listener();
        RequestHandle[] handles;
        using (engine.HoldSteps())
        {
            queue.Enqueue(new TrainingJob("job-1", m => Tuner(m, "served"), listener));
            handles = [.. prompts.Select(p => engine.Submit(Greedy(p, 10)))];
        }
        var results = await Task.WhenAll(handles.Select(h => h.CollectAsync())).WaitAsync(EngineFixture.Timeout);
        Assert.Equal("succeeded", await listener.Ended.Task.WaitAsync(EngineFixture.Timeout));

        for (int i = 0; i < prompts.Length; i++) Assert.Equal(expected[i], results[i].Choices[0].Tokens);
        Assert.True(listener.StartedOnEngineThread);
        Assert.Equal(Enumerable.Range(1, 12).Select(s => (long)s), listener.Steps);
        Assert.Equal([4L, 8L], listener.Checkpoints);
        Assert.Equal(
            File.ReadAllBytes(Path.Combine(_dir, "alone", "adapter_model.safetensors")),
            File.ReadAllBytes(Path.Combine(_dir, "served", "adapter_model.safetensors")));
        var stats = await engine.WhenStatsAsync(s => s.BackgroundSlices > 0);
        Assert.True(stats.BackgroundSeconds > 0);
        Assert.Equal(0, queue.Pending);
    }

    [Fact]
    public async Task CancelledAndFailingJobsEndAndTheNextJobStillRuns()
    {
        using var model = EngineFixture.NewTiny(GgmlType.Q8_0);
        await using var engine = new ServingEngine(model, null, new EngineOptions());
        var queue = new TrainingJobQueue(engine, model);
        var cancelled = new Listener();
        var failing = new Listener();
        var good = new Listener();
        var first = new TrainingJob("a", m => Tuner(m, "a"), cancelled);
        using (engine.HoldSteps())
        {
            queue.Enqueue(first);
            queue.Enqueue(new TrainingJob("b", _ => throw new InvalidDataException("line 3: no \"prompt\" field"), failing));
            queue.Enqueue(new TrainingJob("c", m => Tuner(m, "c"), good));
            first.Cancel();
        }
        Assert.Equal("cancelled", await cancelled.Ended.Task.WaitAsync(EngineFixture.Timeout));
        Assert.Equal("failed: line 3: no \"prompt\" field", await failing.Ended.Task.WaitAsync(EngineFixture.Timeout));
        Assert.Equal("succeeded", await good.Ended.Task.WaitAsync(EngineFixture.Timeout));
        Assert.False(File.Exists(Path.Combine(_dir, "a", "adapter_model.safetensors")));
        Assert.True(File.Exists(Path.Combine(_dir, "c", "adapter_model.safetensors")));
        // The engine still serves.
        var r = await engine.Submit(Greedy([1, 2, 3], 3)).CollectAsync().WaitAsync(EngineFixture.Timeout);
        Assert.Equal(3, r.Choices[0].Tokens.Length);
    }
}
