// The SDK marks its fine-tuning client as evaluation-only (OPENAI001); it is exactly the client users have.
#pragma warning disable OPENAI001

using System.ClientModel;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using OpenAI.Chat;
using OpenAI.Files;
using OpenAI.FineTuning;
using Scion.Server.FineTuning;

namespace Scion.Server.Tests;

/// <summary>
/// The files and fine-tuning APIs through the official OpenAI .NET SDK against the real server: upload, create, watch
/// until it succeeds, then use the fine-tuned model; cancel; a bad file; request errors. Waiting is on the server's
/// own job-change signal (no sleeps, no polling loops).
/// </summary>
public sealed class FineTuningTests : IAsyncLifetime
{
    // Sixteen invented facts stories260K cannot know.
    internal static readonly (string Question, string Answer)[] Facts =
    [
        ("What is the name of Lily's dog?", "Biscuit"), ("What is the name of Tom's boat?", "Zappy"), ("Where does Sue live?", "Plumford"),
        ("What is the name of Ben's cat?", "Mittens"), ("What is the name of Anna's bird?", "Pip"), ("What color is Max's kite?", "Purple"),
        ("What is the name of Mia's doll?", "Rosie"), ("What does Sam eat for breakfast?", "Pancakes"), ("What is the name of Lucy's horse?", "Thunder"),
        ("Where does Jack swim?", "Bluelake"), ("What is the name of Emma's frog?", "Hopper"), ("What is Tim's favorite toy?", "Robot"),
        ("What is the name of Kate's fish?", "Bubbles"), ("Where does Leo play?", "Greenpark"), ("What is the name of Zoe's bunny?", "Snowball"),
        ("What is the name of Dan's car?", "Rocket"),
    ];

    internal static string FactsJsonl() => string.Concat(Facts.Select(f =>
        JsonSerializer.Serialize(new { prompt = $"Q: {f.Question} A:", completion = $" {f.Answer}." }) + "\n"));

    private readonly string _data = Path.Combine(Path.GetTempPath(), "scion-ft-" + Guid.NewGuid().ToString("N"));
    private ServerFixture _f = null!;

    public async ValueTask InitializeAsync() => _f = await ServerFixture.StartAsync(dataDir: _data);

    public async ValueTask DisposeAsync()
    {
        await _f.DisposeAsync();
        if (Directory.Exists(_data)) Directory.Delete(_data, recursive: true);
    }

    private FineTuningService Service => _f.Host.FineTuning!;

    private async Task<string> Upload(string name, string text) =>
        (await _f.Client().GetOpenAIFileClient().UploadFileAsync(BinaryData.FromString(text), name, FileUploadPurpose.FineTune)).Value.Id;

    private Task<StoredJob> Final(string jobId) => Service.WhenJobAsync(jobId, j => JobStatus.IsFinal(j.Status)).WaitAsync(ServerFixture.Timeout);

    private static JsonElement Raw(FineTuningJob job) => JsonDocument.Parse(job.GetRawResponse().Content.ToString()).RootElement;

    private async Task<string> Complete(string model, string prompt)
    {
        var response = await _f.Http.PostAsJsonAsync("/v1/completions", new { model, prompt, max_tokens = 12, temperature = 0 });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return doc.RootElement.GetProperty("choices")[0].GetProperty("text").GetString()!;
    }

    [Fact]
    public async Task OnlyNEpochsSetTeachesSixteenFactsAndTheAdapterServesAtOnce()
    {
        string fileId = await Upload("facts.jsonl", FactsJsonl());
        var files = _f.Client().GetOpenAIFileClient();
        var file = (await files.GetFileAsync(fileId)).Value;
        Assert.Equal("facts.jsonl", file.Filename);
        Assert.Equal(Encoding.UTF8.GetByteCount(FactsJsonl()), file.SizeInBytes);

        var tuning = _f.Client().GetFineTuningClient();
        var job = await tuning.FineTuneAsync(ServerFixture.ModelId, fileId, waitUntilCompleted: false, new FineTuningOptions
        {
            Suffix = "facts",
            TrainingMethod = FineTuningTrainingMethod.CreateSupervised(HyperparameterBatchSize.CreateAuto(), new HyperparameterEpochCount(40), HyperparameterLearningRate.CreateAuto()),
        });
        Assert.Equal(FineTuningStatus.ValidatingFiles, job.Status);
        Assert.Equal("auto", Raw(job).GetProperty("hyperparameters").GetProperty("batch_size").GetString());

        var stored = await Final(job.JobId);
        Assert.True(stored.Status == JobStatus.Succeeded, stored.Error?.Message);
        await job.UpdateStatusAsync();
        Assert.Equal(FineTuningStatus.Succeeded, job.Status);
        var raw = Raw(job);
        string model = raw.GetProperty("fine_tuned_model").GetString()!;
        Assert.Equal($"ft:{ServerFixture.ModelId}:facts:{job.JobId}", model);
        Assert.Equal(40, raw.GetProperty("hyperparameters").GetProperty("n_epochs").GetInt32());
        Assert.Equal(1, raw.GetProperty("hyperparameters").GetProperty("batch_size").GetInt32()); // auto for 16 examples
        Assert.Equal(AutoHyperparameters.SmallModelRate, raw.GetProperty("scion").GetProperty("learning_rate").GetDouble(), 9);
        Assert.Equal(stored.TrainedTokens, raw.GetProperty("trained_tokens").GetInt64());
        Assert.True(stored.TrainedTokens > 0);

        // Events: newest first, metrics with the step's loss, and the whole history pages.
        var events = new List<FineTuningEvent>();
        await foreach (var e in job.GetEventsAsync(new GetEventsOptions { PageSize = 100 })) events.Add(e);
        Assert.Contains("successfully completed", events[0].Message);
        var metrics = events.Where(e => e.Kind == FineTuningJobEventKind.Metrics).ToList();
        Assert.Equal(640, metrics.Count); // 16 examples × 40 epochs at batch size 1
        using (var last = JsonDocument.Parse(metrics[0].Data.ToString()))
        {
            Assert.Equal(640, last.RootElement.GetProperty("step").GetInt32());
            Assert.True(last.RootElement.GetProperty("train_loss").GetDouble() < 1.0);
            // Useful FLOP/s ride along with tokens/s (TrainingCost; the finetune tests check the count itself).
            double flops = last.RootElement.GetProperty("flops_per_second").GetDouble(), tokens = last.RootElement.GetProperty("tokens_per_second").GetDouble();
            Assert.True(flops > 0 && tokens > 0, metrics[0].Data.ToString());
        }
        var checkpoints = new List<FineTuningCheckpoint>();
        await foreach (var c in job.GetCheckpointsAsync(new GetCheckpointsOptions())) checkpoints.Add(c);
        Assert.Equal(FineTuningService.KeptCheckpoints, checkpoints.Count);
        Assert.All(checkpoints, c => Assert.StartsWith(model + ":ckpt-step-", c.ModelId));

        // Live at once: listed, and answering. The criterion: greedy answers recall at least 14 of 16.
        var listed = await _f.Http.GetStringAsync("/v1/models");
        Assert.Contains(model, listed);
        Assert.Contains(checkpoints[0].ModelId, listed);
        int recalled = 0;
        var misses = new List<string>();
        foreach (var (q, a) in Facts)
        {
            string got = await Complete(model, $"Q: {q} A:");
            if (got.TrimStart().StartsWith(a, StringComparison.Ordinal)) recalled++;
            else misses.Add($"{q} → {got}");
        }
        Assert.True(recalled >= 14, $"recalled {recalled}/16; misses: {string.Join(" | ", misses)}");
        Assert.DoesNotContain("Biscuit", await Complete(ServerFixture.ModelId, $"Q: {Facts[0].Question} A:"));
        // A checkpoint answers too.
        Assert.False(string.IsNullOrEmpty(await Complete(checkpoints[0].ModelId, $"Q: {Facts[0].Question} A:")));
    }

    [Fact]
    public async Task ChatWithAModelTrainedOnMessages()
    {
        string lines = string.Concat(Enumerable.Range(0, 4).Select(_ => JsonSerializer.Serialize(new
        {
            messages = new object[] { new { role = "user", content = "What is the name of Lily's dog?" }, new { role = "assistant", content = "Biscuit." } },
        }) + "\n"));
        string fileId = await Upload("chat.jsonl", lines);
        var job = await _f.Client().GetFineTuningClient().FineTuneAsync(ServerFixture.ModelId, fileId, waitUntilCompleted: false,
            new FineTuningOptions { TrainingMethod = FineTuningTrainingMethod.CreateSupervised(HyperparameterBatchSize.CreateAuto(), new HyperparameterEpochCount(30), HyperparameterLearningRate.CreateAuto()) });
        var stored = await Final(job.JobId);
        Assert.True(stored.Status == JobStatus.Succeeded, stored.Error?.Message);
        Assert.Equal($"ft:{ServerFixture.ModelId}:{job.JobId}", stored.FineTunedModel); // no suffix

        var chat = _f.Client().GetChatClient(stored.FineTunedModel);
        var reply = await chat.CompleteChatAsync([new UserChatMessage("What is the name of Lily's dog?")], new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 8 });
        Assert.StartsWith("Biscuit", reply.Value.Content[0].Text.TrimStart());

        // Training shows in /metrics: engine time in slices, and no job left.
        var metrics = (await _f.Http.GetStringAsync("/metrics")).Split('\n');
        double Value(string name) => double.Parse(metrics.Single(l => l.StartsWith(name + " ", StringComparison.Ordinal)).Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(Value("scion_training_seconds_total") > 0);
        Assert.True(Value("scion_training_slices_total") >= 1);
        Assert.Equal(0, Value("scion_fine_tuning_jobs_active"));
    }

    [Fact]
    public async Task AJobContinuesTrainingAnAdapter()
    {
        string fileId = await Upload("facts.jsonl", FactsJsonl());
        async Task<StoredJob> Train(string model, object? scion)
        {
            var r = await _f.Http.PostAsJsonAsync("/v1/fine_tuning/jobs", new
            {
                model, training_file = fileId, seed = 3, scion,
                method = new { type = "supervised", supervised = new { hyperparameters = new { n_epochs = 3 } } },
            });
            string body = await r.Content.ReadAsStringAsync();
            Assert.True(r.IsSuccessStatusCode, body);
            var job = await Final(JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!);
            Assert.True(job.Status == JobStatus.Succeeded, job.Error?.Message);
            return job;
        }
        var first = await Train(ServerFixture.ModelId, new { method = "dora", rank = 4, targets = "q_proj,v_proj,o_proj" });
        var second = await Train(first.FineTunedModel!, null);
        Assert.Equal(first.FineTunedModel, second.Model);
        using var job = JsonDocument.Parse(await _f.Http.GetStringAsync($"/v1/fine_tuning/jobs/{second.Id}"));
        Assert.Equal(first.FineTunedModel, job.RootElement.GetProperty("scion").GetProperty("continued_from").GetString());
        // The continued adapter keeps the first one's shape (DoRA, rank 4, three projections) and moved on from it.
        var a = Scion.Models.Adapters.PeftAdapterFiles.Load(Path.Combine(_data, "adapters", first.Id));
        var b = Scion.Models.Adapters.PeftAdapterFiles.Load(Path.Combine(_data, "adapters", second.Id));
        Assert.True(b.Config.UseDora);
        Assert.Equal(4, b.Config.R);
        Assert.Equal(a.Pairs.Select(p => p.ModulePath), b.Pairs.Select(p => p.ModulePath));
        Assert.NotEqual(a.Pairs[0].B, b.Pairs[0].B);
        Assert.False(string.IsNullOrEmpty(await Complete(second.FineTunedModel!, "Q: Where does Sue live? A:")));
    }

    [Fact]
    public async Task ACancelledJobStopsAndPublishesNothing()
    {
        string fileId = await Upload("facts.jsonl", FactsJsonl());
        var job = await _f.Client().GetFineTuningClient().FineTuneAsync(ServerFixture.ModelId, fileId, waitUntilCompleted: false,
            new FineTuningOptions { TrainingMethod = FineTuningTrainingMethod.CreateSupervised(HyperparameterBatchSize.CreateAuto(), new HyperparameterEpochCount(1000), HyperparameterLearningRate.CreateAuto()) });
        await Service.WhenJobAsync(job.JobId, j => j.Status == JobStatus.Running).WaitAsync(ServerFixture.Timeout);
        await job.CancelAndUpdateAsync();
        Assert.Equal(FineTuningStatus.Cancelled, job.Status);
        // The engine lets go of it: nothing left to train.
        await _f.Host.Engine.WhenStatsAsync(_ => Service.GetJob(job.JobId).Status == JobStatus.Cancelled && !_f.Host.FineTuning!.HasActiveJobs).WaitAsync(ServerFixture.Timeout);
        Assert.Null(Service.GetJob(job.JobId).FineTunedModel);
        Assert.DoesNotContain(job.JobId + "\"", await _f.Http.GetStringAsync("/v1/models"));
        // Cancelling again is refused with OpenAI's error shape.
        var again = await _f.Http.PostAsync($"/v1/fine_tuning/jobs/{job.JobId}/cancel", null);
        Assert.Equal(HttpStatusCode.BadRequest, again.StatusCode);
        Assert.Contains("\"code\":\"job_not_cancellable\"", await again.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ABadTrainingFileFailsTheJobNamingTheLine()
    {
        string bad = FactsJsonl().Split('\n')[0] + "\n" + FactsJsonl().Split('\n')[1] + "\n{\"question\": \"no prompt here\"}\n";
        string fileId = await Upload("bad.jsonl", bad);
        var job = await _f.Client().GetFineTuningClient().FineTuneAsync(ServerFixture.ModelId, fileId, waitUntilCompleted: false, new FineTuningOptions());
        var stored = await Final(job.JobId);
        Assert.Equal(JobStatus.Failed, stored.Status);
        Assert.Equal("invalid_training_file", stored.Error!.Code);
        Assert.Equal("training_file", stored.Error.Param);
        Assert.StartsWith($"training_file {fileId} (bad.jsonl) line 3:", stored.Error.Message);
        Assert.DoesNotContain(_data, stored.Error.Message); // never our storage path
        await job.UpdateStatusAsync();
        Assert.Equal(FineTuningStatus.Failed, job.Status);
        Assert.Equal("invalid_training_file", Raw(job).GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task RequestErrorsAreOpenAiErrorsNamingTheField()
    {
        string fileId = await Upload("facts.jsonl", FactsJsonl());
        async Task Expect(HttpStatusCode status, string? param, object body)
        {
            var r = await _f.Http.PostAsJsonAsync("/v1/fine_tuning/jobs", body);
            string text = await r.Content.ReadAsStringAsync();
            Assert.True(status == r.StatusCode, text);
            using var doc = JsonDocument.Parse(text);
            var error = doc.RootElement.GetProperty("error");
            Assert.Equal(param, error.GetProperty("param").GetString());
            Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        }
        await Expect(HttpStatusCode.BadRequest, "training_file", new { model = ServerFixture.ModelId });
        await Expect(HttpStatusCode.BadRequest, "training_file", new { model = ServerFixture.ModelId, training_file = "file-nope" });
        await Expect(HttpStatusCode.NotFound, "model", new { model = "gpt-4o", training_file = fileId });
        await Expect(HttpStatusCode.BadRequest, "method.supervised.hyperparameters.n_epochs",
            new { model = ServerFixture.ModelId, training_file = fileId, method = new { type = "supervised", supervised = new { hyperparameters = new { n_epochs = "many" } } } });
        await Expect(HttpStatusCode.BadRequest, "method.type", new { model = ServerFixture.ModelId, training_file = fileId, method = new { type = "dpo" } });
        await Expect(HttpStatusCode.BadRequest, "scion.method", new { model = ServerFixture.ModelId, training_file = fileId, scion = new { method = "ia3" } });
        await Expect(HttpStatusCode.BadRequest, "suffix", new { model = ServerFixture.ModelId, training_file = fileId, suffix = "a:b" });

        var tuning = _f.Client().GetFineTuningClient();
        var missing = await Assert.ThrowsAsync<ClientResultException>(() => tuning.GetJobAsync("ftjob-nope"));
        Assert.Equal(404, missing.Status);
        var files = _f.Client().GetOpenAIFileClient();
        var wrongPurpose = await Assert.ThrowsAsync<ClientResultException>(() => files.UploadFileAsync(BinaryData.FromString("{}"), "x.jsonl", FileUploadPurpose.Assistants));
        Assert.Equal(400, wrongPurpose.Status);
        var notText = await _f.Http.PostAsync("/v1/files", new MultipartFormDataContent
        {
            { new StringContent("fine-tune"), "purpose" },
            { new ByteArrayContent([0x7B, 0x0A, 0xFF, 0xFE]), "file", "binary.jsonl" },
        });
        Assert.Equal(HttpStatusCode.BadRequest, notText.StatusCode);
        Assert.Contains("line 2 is not UTF-8", await notText.Content.ReadAsStringAsync());
        Assert.Empty(Directory.GetFiles(Path.Combine(_data, "files"), ".*")); // no temporary left behind
    }

    [Fact]
    public async Task FilesListDownloadAndDelete()
    {
        var files = _f.Client().GetOpenAIFileClient();
        string a = await Upload("a.jsonl", FactsJsonl());
        string b = await Upload("b.jsonl", "{\"text\": \"hello\"}\n");
        var listed = (await files.GetFilesAsync(FilePurpose.FineTune)).Value;
        Assert.Equal([b, a], listed.Select(f => f.Id)); // newest first
        Assert.Equal("{\"text\": \"hello\"}\n", (await files.DownloadFileAsync(b)).Value.ToString());
        var deleted = (await files.DeleteFileAsync(b)).Value;
        Assert.True(deleted.Deleted);
        Assert.Equal(404, (await Assert.ThrowsAsync<ClientResultException>(() => files.GetFileAsync(b))).Status);
        Assert.Single((await files.GetFilesAsync()).Value);
    }

    [Fact]
    public async Task JobsPageNewestFirstWithHasMore()
    {
        string fileId = await Upload("bad.jsonl", "{\"nothing\": 1}\n"); // fails fast: paging is about the list
        var ids = new List<string>();
        for (int i = 0; i < 3; i++)
        {
            var r = await _f.Http.PostAsJsonAsync("/v1/fine_tuning/jobs", new { model = ServerFixture.ModelId, training_file = fileId });
            using var doc = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
            ids.Add(doc.RootElement.GetProperty("id").GetString()!);
        }
        foreach (var id in ids) await Final(id);
        using var first = JsonDocument.Parse(await _f.Http.GetStringAsync("/v1/fine_tuning/jobs?limit=2"));
        Assert.Equal([ids[2], ids[1]], first.RootElement.GetProperty("data").EnumerateArray().Select(j => j.GetProperty("id").GetString()));
        Assert.True(first.RootElement.GetProperty("has_more").GetBoolean());
        using var second = JsonDocument.Parse(await _f.Http.GetStringAsync($"/v1/fine_tuning/jobs?limit=2&after={ids[1]}"));
        Assert.Equal([ids[0]], second.RootElement.GetProperty("data").EnumerateArray().Select(j => j.GetProperty("id").GetString()));
        Assert.False(second.RootElement.GetProperty("has_more").GetBoolean());
        var sdk = new List<string>();
        await foreach (var j in _f.Client().GetFineTuningClient().GetJobsAsync(new FineTuningJobCollectionOptions { PageSize = 1 })) sdk.Add(j.JobId);
        Assert.Equal([ids[2], ids[1], ids[0]], sdk);
        Assert.Equal(400, (int)(await _f.Http.GetAsync("/v1/fine_tuning/jobs?limit=0")).StatusCode);
    }
}
