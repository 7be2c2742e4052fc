using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Scion.Cli.Tests;

/// <summary>`scion jobs` against a real `scion serve` child process.</summary>
public sealed class JobsCommandTests : IDisposable
{
    private readonly string _dir = Bundled.TempDir();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Code, string Out, string Err) Cli(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CliApp.Run(args, new StringReader(""), stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task ListShowAndCancelAJob()
    {
        using var serve = new ServeProcess("--data-dir", Path.Combine(_dir, "data"));
        var url = await serve.UrlAsync();
        using var http = new HttpClient { BaseAddress = url };
        using var form = new MultipartFormDataContent
        {
            { new StringContent("fine-tune"), "purpose" },
            { new ByteArrayContent(Encoding.UTF8.GetBytes("{\"prompt\": 3}\n")), "file", "bad.jsonl" },
        };
        using var file = JsonDocument.Parse(await (await http.PostAsync("/v1/files", form)).Content.ReadAsStringAsync());
        var created = await http.PostAsJsonAsync("/v1/fine_tuning/jobs", new { model = "stories260K", training_file = file.RootElement.GetProperty("id").GetString() });
        using var job = JsonDocument.Parse(await created.Content.ReadAsStringAsync());
        string id = job.RootElement.GetProperty("id").GetString()!;
        await serve.LineAsync(l => l.Contains($"job {id}: failed", StringComparison.Ordinal));
        string u = url.ToString();

        var (code, output, err) = Cli("jobs", "list", "--url", u);
        Assert.True(code == 0, err);
        Assert.StartsWith($"{id}  failed", output);

        (code, output, err) = Cli("jobs", "show", id, "--url", u);
        Assert.True(code == 0, err);
        Assert.Contains("error invalid_training_file: training_file file-", output);
        Assert.Contains("(bad.jsonl) line 1:", output);
        Assert.Contains("Validating training file", output);

        (code, output, _) = Cli("jobs", "list", "--url", u, "--json");
        Assert.Equal(0, code);
        Assert.Equal(id, JsonDocument.Parse(output).RootElement.GetProperty("data")[0].GetProperty("id").GetString());

        (code, _, err) = Cli("jobs", "cancel", id, "--url", u);
        Assert.Equal(1, code);
        Assert.Contains(": 400: The job", err);
        (code, _, err) = Cli("jobs", "show", "ftjob-nope", "--url", u);
        Assert.Equal(1, code);
        Assert.Contains(": 404: No such fine-tuning job", err);
    }

    [Fact]
    public void AServerThatIsNotThereIsOneClearLine()
    {
        var (code, _, err) = Cli("jobs", "list", "--url", "http://127.0.0.1:1");
        Assert.Equal(1, code);
        Assert.StartsWith("error: cannot reach http://127.0.0.1:1/v1/fine_tuning/jobs", err);
        (code, _, err) = Cli("jobs", "list", "--url", "ftp://x");
        Assert.Equal(2, code);
        Assert.Contains("expected an http(s) URL", err);
    }
}
