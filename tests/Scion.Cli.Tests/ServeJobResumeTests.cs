using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Scion.Cli.Tests;

/// <summary>
/// kill -9 of `scion serve` in the middle of a fine-tuning job: the next start takes the job up from its last
/// checkpoint and finishes with the adapter bytes an uninterrupted run of the same job writes.
/// </summary>
public sealed class ServeJobResumeTests : IDisposable
{
    private readonly string _dir = Bundled.TempDir();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly string[] Facts =
    [
        "Lily's dog is named Biscuit.", "Tom's boat is named Zappy.", "Sue lives in Plumford.", "Ben's cat is named Mittens.",
        "Anna's bird is named Pip.", "Max's kite is purple.", "Mia's doll is named Rosie.", "Sam eats pancakes.",
    ];

    private static async Task<string> Upload(HttpClient http)
    {
        string jsonl = string.Concat(Facts.Select(f => JsonSerializer.Serialize(new { prompt = "Q: Tell me a fact. A:", completion = " " + f }) + "\n"));
        using var form = new MultipartFormDataContent
        {
            { new StringContent("fine-tune"), "purpose" },
            { new ByteArrayContent(Encoding.UTF8.GetBytes(jsonl)), "file", "facts.jsonl" },
        };
        var r = await http.PostAsync("/v1/files", form);
        string body = await r.Content.ReadAsStringAsync();
        Assert.True(r.IsSuccessStatusCode, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;
    }

    private static async Task<string> CreateJob(HttpClient http, string fileId)
    {
        var r = await http.PostAsJsonAsync("/v1/fine_tuning/jobs", new
        {
            model = "stories260K", training_file = fileId, seed = 7,
            method = new { type = "supervised", supervised = new { hyperparameters = new { n_epochs = 60 } } },
            scion = new { method = "dora", rank = 4, checkpoint_every = 20 },
        });
        string body = await r.Content.ReadAsStringAsync();
        Assert.True(r.IsSuccessStatusCode, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;
    }

    [Fact]
    public async Task AKilledServerResumesTheJobAndWritesTheSameAdapter()
    {
        string data = Path.Combine(_dir, "data");
        string jobId;
        using (var first = new ServeProcess("--data-dir", data))
        {
            using var http = new HttpClient { BaseAddress = await first.UrlAsync() };
            string fileId = await Upload(http);
            jobId = await CreateJob(http, fileId);
            // Killed right after its first checkpoint (480 steps in all): no sleep, the log line is the event.
            await first.LineAsync(l => l.Contains($"job {jobId}: checkpoint at step 20", StringComparison.Ordinal));
            first.Kill();
        }
        Assert.False(File.Exists(Path.Combine(data, "adapters", jobId, "adapter_model.safetensors")));

        using var second = new ServeProcess("--data-dir", data);
        using var http2 = new HttpClient { BaseAddress = await second.UrlAsync() };
        string resumed = await second.LineAsync(l => l.Contains($"job {jobId}: fine-tuning resumed from the checkpoint at step", StringComparison.Ordinal));
        int step = int.Parse(resumed.Split("at step ")[1].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(step, 20, 479);
        await second.LineAsync(l => l.Contains($"job {jobId}: succeeded", StringComparison.Ordinal));

        // The same job again, uninterrupted, on the restarted server.
        using var files = JsonDocument.Parse(await http2.GetStringAsync("/v1/files"));
        string again = await CreateJob(http2, files.RootElement.GetProperty("data")[0].GetProperty("id").GetString()!);
        await second.LineAsync(l => l.Contains($"job {again}: succeeded", StringComparison.Ordinal));
        Assert.Equal(
            File.ReadAllBytes(Path.Combine(data, "adapters", again, "adapter_model.safetensors")),
            File.ReadAllBytes(Path.Combine(data, "adapters", jobId, "adapter_model.safetensors")));

        using var job = JsonDocument.Parse(await http2.GetStringAsync($"/v1/fine_tuning/jobs/{jobId}"));
        Assert.Equal("succeeded", job.RootElement.GetProperty("status").GetString());
        var messages = new List<string>();
        for (string? after = null; ;)
        {
            using var page = JsonDocument.Parse(await http2.GetStringAsync($"/v1/fine_tuning/jobs/{jobId}/events?limit=100" + (after is null ? "" : $"&after={after}")));
            var items = page.RootElement.GetProperty("data").EnumerateArray().ToList();
            messages.AddRange(items.Select(e => e.GetProperty("message").GetString()!));
            if (!page.RootElement.GetProperty("has_more").GetBoolean()) break;
            after = items[^1].GetProperty("id").GetString();
        }
        Assert.Contains(messages, m => m.StartsWith($"Fine-tuning resumed from the checkpoint at step {step}", StringComparison.Ordinal));
        // Steps after the checkpoint that the killed run had logged were recomputed, not logged twice.
        var stepLines = messages.Where(m => m.StartsWith("Step ", StringComparison.Ordinal) && m.Contains("/480: training loss", StringComparison.Ordinal)).ToList();
        Assert.Equal(480, stepLines.Count);
        Assert.Equal(480, stepLines.Distinct().Count());
        // The model is served by its name after the restart.
        string model = job.RootElement.GetProperty("fine_tuned_model").GetString()!;
        Assert.Contains(model, await http2.GetStringAsync("/v1/models"));
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(data, "adapters"), ".*"));
    }
}
