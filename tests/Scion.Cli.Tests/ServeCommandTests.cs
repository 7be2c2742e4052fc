using System.Text.Json;
using System.Text.RegularExpressions;
using Scion.Cli.CommandLine;

namespace Scion.Cli.Tests;

/// <summary>`scion serve` as a user starts it: options checked before anything loads, the URL printed when ready,
/// answering over HTTP, and a clean stop on Ctrl-C.</summary>
public class ServeCommandTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromMinutes(2);

    [Fact]
    public void HelpListsTheServerOptions()
    {
        var r = CliRunner.Run("serve", "--help");
        Assert.Equal(0, r.ExitCode);
        foreach (var option in new[] { "--model", "--host", "--port", "--served-model-name", "--adapter", "--adapters-dir", "--adapter-cache-mib",
                     "--kv-tokens", "--max-batch-tokens", "--max-seqs", "--api-key", "--api-keys-file", "--chat-template", "--threads" })
            Assert.Contains(option, r.Out);
    }

    [Theory]
    [InlineData(2, "expects NAME=DIR", "--adapter", "tiny")]
    [InlineData(2, "--port must be between 0 and 65535", "--port", "70000")]
    [InlineData(1, "no such", "--api-keys-file", "/nonexistent/keys.txt")]
    [InlineData(1, "no such", "--adapters-dir", "/nonexistent/adapters")]
    [InlineData(1, "no such", "--model", "/nonexistent/model.gguf")]
    public void BadOptionsFailBeforeAnythingLoadsOrListens(int code, string message, params string[] args)
    {
        var r = CliRunner.Run(["serve", .. args, .. (args.Contains("--port") ? Array.Empty<string>() : ["--port", "0"])]);
        Assert.True(r.ExitCode == code, r.Err);
        Assert.Contains(message, r.Err);
        Assert.DoesNotContain("listening", r.Err);
    }

    [Fact]
    public async Task ServesTheBundledModelUntilCtrlC()
    {
        string dir = Bundled.TempDir();
        string keys = Path.Combine(dir, "keys.txt");
        File.WriteAllText(keys, "# operators\n\nsk-test-1\n");
        using var interrupt = new CancellationTokenSource();
        var ready = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var stdout = new LineSignal(line =>
        {
            var m = Regex.Match(line, @"^serving (\S+) at (http://\S+)$");
            if (m.Success) ready.TrySetResult(m.Groups[2].Value);
        });
        var stderr = new StringWriter();
        var run = Task.Run(() => CliApp.Run(["serve", "--port", "0", "--api-keys-file", keys], new CliIo(new StringReader(""), stdout, TextWriter.Synchronized(stderr)), interrupt.Token));
        var first = await Task.WhenAny(ready.Task, run).WaitAsync(Wait);
        Assert.True(first == ready.Task, $"serve ended before it was ready: {stderr}");
        string url = await ready.Task;
        Assert.Matches(@"^http://127\.0\.0\.1:\d+$", url);

        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = Wait };
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await http.GetAsync("/v1/models")).StatusCode);
        http.DefaultRequestHeaders.Authorization = new("Bearer", "sk-test-1");
        var models = JsonDocument.Parse(await http.GetStringAsync("/v1/models")).RootElement;
        Assert.Equal("stories260K", models.GetProperty("data")[0].GetProperty("id").GetString());
        // The key is never printed.
        Assert.DoesNotContain("sk-test-1", stderr.ToString());

        interrupt.Cancel();
        Assert.Equal(ExitCodes.Success, await run.WaitAsync(Wait));
        Assert.Contains("stopping", stderr.ToString());
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => http.GetStringAsync("/health"));
        Directory.Delete(dir, true);
    }

    /// <summary>A stdout that hands each written line to a callback (thread-safe: the server writes from its own thread).</summary>
    private sealed class LineSignal(Action<string> onLine) : StringWriter
    {
        private readonly object _gate = new();

        public override void WriteLine(string? value)
        {
            lock (_gate) base.WriteLine(value);
            onLine(value ?? "");
        }
    }
}
