using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Scion.Cli.CommandLine;

namespace Scion.Cli.Tests;

/// <summary>`scion serve`: its options, the checks made before anything loads, and a real run on port 0 in process.</summary>
public partial class ServeCommandTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    [Fact]
    public void Help_lists_every_option()
    {
        var r = CliRunner.Run("serve", "--help");
        Assert.Equal(0, r.ExitCode);
        foreach (var option in new[] { "--model", "-m", "--host", "--port", "--served-model-name", "--adapter", "--adapters-dir", "--adapter-cache-mib",
                     "--kv-tokens", "--kv-mib", "--cache-type-k", "-ctk", "--cache-type-v", "-ctv", "--max-batch-tokens", "--max-seqs", "--max-tokens-cap", "--api-key", "--api-keys-file", "--chat-template", "--threads", "-t" })
            Assert.Contains(option, r.Out);
        Assert.Contains("[default: 8080]", r.Out);
        Assert.Contains("[default: 127.0.0.1]", r.Out);
    }

    [Theory]
    [InlineData(2, "--port", "70000")]
    [InlineData(2, "--port", "http")]
    [InlineData(2, "--host", "not a host")]
    [InlineData(2, "--adapter", "no-equals-sign")]
    [InlineData(2, "--adapter", "=/tmp")]
    [InlineData(2, "--adapter", "../up=/tmp")]
    [InlineData(2, "--max-seqs", "0")]
    [InlineData(2, "--api-key", " ")]
    [InlineData(2, "--cache-type-k", "q5_1")]
    [InlineData(2, "--kv-mib", "0")]
    [InlineData(1, "--model", "/no/such/model.gguf")]
    [InlineData(1, "--adapter", "a=/no/such/adapter")]
    [InlineData(1, "--adapters-dir", "/no/such/folder")]
    [InlineData(1, "--api-keys-file", "/no/such/keys.txt")]
    [InlineData(1, "--chat-template", "/no/such/template.jinja")]
    public void Bad_options_fail_before_anything_listens_or_loads(int code, string option, string value)
    {
        var r = CliRunner.Run("serve", option, value, "--port", "0");
        Assert.Equal(code, r.ExitCode);
        Assert.StartsWith("error: ", r.Err.Split('\n').First(l => l.StartsWith("error", StringComparison.Ordinal)));
        Assert.DoesNotContain("listening", r.Err);
        Assert.DoesNotContain("Exception", r.Err);
    }

    [Fact]
    public void An_adapter_folder_without_a_config_and_a_keys_file_without_keys_are_refused()
    {
        string dir = Bundled.TempDir();
        var noConfig = CliRunner.Run("serve", "--port", "0", "--adapter", $"a={dir}");
        Assert.Equal(1, noConfig.ExitCode);
        Assert.Contains("adapter_config.json", noConfig.Err);
        string keys = Path.Combine(dir, "keys.txt");
        File.WriteAllText(keys, "# only a comment\n\n");
        var empty = CliRunner.Run("serve", "--port", "0", "--api-keys-file", keys);
        Assert.Equal(1, empty.ExitCode);
        Assert.Contains("holds no key", empty.Err);
    }

    [Fact]
    public async Task Serve_on_port_0_prints_the_real_url_answers_and_stops_on_cancel_without_printing_keys()
    {
        string dir = Bundled.TempDir();
        string keysFile = Path.Combine(dir, "keys.txt");
        File.WriteAllText(keysFile, "# team keys\nfile-key-123\n\n");
        var err = new WatchedWriter();
        using var stop = new CancellationTokenSource();
        var run = Task.Run(() => CliApp.Run(["serve", "--port", "0", "--api-key", "cli-key-456", "--api-keys-file", keysFile, "--served-model-name", "tiny"],
            new CliIo(new StringReader(""), new StringWriter(), err), stop.Token));
        var ready = await Task.WhenAny(err.Serving, run).WaitAsync(Timeout);
        Assert.True(ready == err.Serving, $"serve ended before it was ready: {err}");
        string url = await err.Serving;
        Assert.Matches(@"^http://127\.0\.0\.1:\d+$", url);
        Assert.DoesNotContain(":0", url);

        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = Timeout };
        Assert.Equal(200, (int)(await http.GetAsync("/health")).StatusCode);
        Assert.Equal(401, (int)(await http.GetAsync("/v1/models")).StatusCode);
        foreach (string key in new[] { "cli-key-456", "file-key-123" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models") { Headers = { { "Authorization", $"Bearer {key}" } } };
            using var response = await http.SendAsync(request);
            Assert.Equal(200, (int)response.StatusCode);
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal("tiny", body.RootElement.GetProperty("data")[0].GetProperty("id").GetString());
        }

        stop.Cancel();
        Assert.Equal(0, await run.WaitAsync(Timeout));
        string log = err.ToString();
        Assert.Contains("scion: stopped", log);
        Assert.Contains($"scion: serving tiny at {url} (ctrl-c to stop)", log);
        Assert.Contains($"scion: web console at {url}/", log);
        Assert.DoesNotContain("cli-key-456", log);
        Assert.DoesNotContain("file-key-123", log);
    }

    [Fact]
    public async Task A_q8_0_cache_in_the_same_memory_holds_about_twice_the_tokens_and_answers()
    {
        async Task<(string Log, string Reply)> Serve(params string[] kv)
        {
            var err = new WatchedWriter();
            using var stop = new CancellationTokenSource();
            var run = Task.Run(() => CliApp.Run(["serve", "--port", "0", "--kv-mib", "1", .. kv], new CliIo(new StringReader(""), new StringWriter(), err), stop.Token));
            var ready = await Task.WhenAny(err.Serving, run).WaitAsync(Timeout);
            Assert.True(ready == err.Serving, $"serve ended before it was ready: {err}");
            using var http = new HttpClient { BaseAddress = new Uri(await err.Serving), Timeout = Timeout };
            using var response = await http.PostAsync("/v1/completions", new StringContent(
                """{"model": "stories260K", "prompt": "Once upon a time", "max_tokens": 12, "temperature": 0}""", Encoding.UTF8, "application/json"));
            string body = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, body);
            stop.Cancel();
            Assert.Equal(0, await run.WaitAsync(Timeout));
            return (err.ToString(), JsonDocument.Parse(body).RootElement.GetProperty("choices")[0].GetProperty("text").GetString()!);
        }
        int Tokens(string log) => int.Parse(System.Text.RegularExpressions.Regex.Match(log, @"scion: KV cache (\d+) tokens").Groups[1].Value);
        var f16 = await Serve();
        var q8 = await Serve("-ctk", "q8_0", "-ctv", "q8_0");
        Assert.Contains("(K f16, V f16, 1.0 MiB)", f16.Log);
        Assert.Contains("K q8_0, V q8_0", q8.Log);
        Assert.InRange(Tokens(q8.Log) / (double)Tokens(f16.Log), 1.85, 1.9);
        Assert.StartsWith(", there was a little girl", q8.Reply);
        Assert.Equal(f16.Reply, q8.Reply);
    }

    /// <summary>A thread-safe stderr that completes <see cref="Serving"/> with the URL once the ready line is written.</summary>
    private sealed partial class WatchedWriter : TextWriter
    {
        private readonly StringBuilder _text = new();
        private readonly TaskCompletionSource<string> _serving = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<string> Serving => _serving.Task;
        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value) => Write(value.ToString());

        public override void Write(string? value)
        {
            lock (_text)
            {
                _text.Append(value);
                if (Ready().Match(_text.ToString()) is { Success: true } m) _serving.TrySetResult(m.Groups[1].Value);
            }
        }

        public override string ToString()
        {
            lock (_text) return _text.ToString();
        }

        [GeneratedRegex(@"scion: serving \S+ at (\S+) \(ctrl-c to stop\)\n")]
        private static partial Regex Ready();
    }
}
