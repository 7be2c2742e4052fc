using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Scion.Server.WebConsole;

namespace Scion.Server.Tests.Console;

/// <summary>The console's files as served (no browser needed): every file the page names is there, nothing comes from
/// another host, one load stays under 300 KB, caching and security headers; and the /scion calls it uses.</summary>
public sealed partial class ConsoleAssetsTests : IAsyncLifetime
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "scion-console-assets-" + Guid.NewGuid().ToString("N"));
    private ServerFixture _f = null!;

    public async ValueTask InitializeAsync() => _f = await ServerFixture.StartAsync(new ServerOptions { ApiKeys = ["k"] }, dataDir: _data);

    public async ValueTask DisposeAsync()
    {
        await _f.DisposeAsync();
        if (Directory.Exists(_data)) Directory.Delete(_data, recursive: true);
    }

    private HttpRequestMessage Authorized(HttpMethod method, string path, HttpContent? content = null)
    {
        var r = new HttpRequestMessage(method, path) { Content = content };
        r.Headers.Authorization = new("Bearer", "k");
        return r;
    }

    [GeneratedRegex("""(?:src|href)="(/console/[^"]+)"|from '\./([^']+)'""")]
    private static partial Regex References();

    [Fact]
    public async Task ThePageAndEveryFileItNamesAreServedWithoutAKeyUnder300KB()
    {
        var index = await _f.Http.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, index.StatusCode);
        Assert.Equal("text/html", index.Content.Headers.ContentType!.MediaType);
        Assert.Contains("script-src 'self'", index.Headers.GetValues("Content-Security-Policy").Single());
        string html = await index.Content.ReadAsStringAsync();
        var pending = new Queue<string>(References().Matches(html).Select(m => m.Groups[1].Value));
        var seen = new HashSet<string>();
        long total = html.Length;
        while (pending.TryDequeue(out var path))
        {
            if (!seen.Add(path)) continue;
            var r = await _f.Http.GetAsync(path);
            Assert.True(r.StatusCode == HttpStatusCode.OK, $"{path}: {r.StatusCode}");
            string text = await r.Content.ReadAsStringAsync();
            total += (await r.Content.ReadAsByteArrayAsync()).Length;
            Assert.DoesNotMatch("https?://(?!www\\.w3\\.org/2000/svg)", text); // offline: nothing from another host
            foreach (Match m in References().Matches(text))
                pending.Enqueue(m.Groups[1].Success ? m.Groups[1].Value : "/console/js/" + m.Groups[2].Value);
        }
        Assert.Contains("/console/js/chat.js", seen);
        Assert.Contains("/console/js/dashboard.js", seen);
        Assert.True(total < 300 * 1024, $"one page load is {total} bytes");
        Assert.True(ConsoleAssets.TotalBytes < 300 * 1024);
        // Every embedded file is reachable from the page (none shipped for nothing).
        Assert.Equal(ConsoleAssets.Names.Where(n => n != "index.html").Select(n => "/console/" + n).Order(), seen.Order());
    }

    [Fact]
    public async Task AnUnchangedFileIsA304AndAnUnknownOneAn404InOpenAisShape()
    {
        var first = await _f.Http.GetAsync("/console/js/app.js");
        var again = new HttpRequestMessage(HttpMethod.Get, "/console/js/app.js");
        again.Headers.IfNoneMatch.Add(first.Headers.ETag!);
        Assert.Equal(HttpStatusCode.NotModified, (await _f.Http.SendAsync(again)).StatusCode);
        var missing = await _f.Http.GetAsync("/console/js/nope.js");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        using var doc = JsonDocument.Parse(await missing.Content.ReadAsStringAsync());
        Assert.Equal("unknown_url", doc.RootElement.GetProperty("error").GetProperty("code").GetString());
        // The console's files need no key; the API still does.
        Assert.Equal(HttpStatusCode.Unauthorized, (await _f.Http.GetAsync("/scion/stats")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await _f.Http.GetAsync("/v1/models")).StatusCode);
    }

    [Fact]
    public async Task StatsCountTrafficAndGiveRecentLatencyPercentiles()
    {
        var completion = Authorized(HttpMethod.Post, "/v1/completions", JsonContent.Create(new { model = ServerFixture.ModelId, prompt = "Once", max_tokens = 8, temperature = 0, ignore_eos = true }));
        (await _f.Http.SendAsync(completion)).EnsureSuccessStatusCode();
        using var doc = JsonDocument.Parse(await (await _f.Http.SendAsync(Authorized(HttpMethod.Get, "/scion/stats"))).Content.ReadAsStringAsync());
        var s = doc.RootElement;
        Assert.Equal("scion.stats", s.GetProperty("object").GetString());
        Assert.Equal(8, s.GetProperty("tokens").GetProperty("generated").GetInt64());
        Assert.Equal(1, s.GetProperty("requests").GetProperty("finished").GetInt64());
        var ttft = s.GetProperty("latency").GetProperty("time_to_first_token");
        Assert.Equal(1, ttft.GetProperty("count").GetInt32());
        Assert.Equal(ttft.GetProperty("p50").GetDouble(), ttft.GetProperty("p99").GetDouble());
        var itl = s.GetProperty("latency").GetProperty("inter_token");
        Assert.Equal(7, itl.GetProperty("count").GetInt32()); // 8 tokens, 7 gaps
        Assert.True(itl.GetProperty("p50").GetDouble() <= itl.GetProperty("p99").GetDouble());
        Assert.True(s.GetProperty("kv_cache").GetProperty("blocks_total").GetInt32() > 0);
        Assert.Equal(s.GetProperty("kv_cache").GetProperty("blocks_total").GetInt32() * 16, s.GetProperty("kv_cache").GetProperty("tokens").GetInt32());
        Assert.True(s.GetProperty("kv_cache").GetProperty("bytes").GetInt64() > 0);
        Assert.Equal("f16", s.GetProperty("kv_cache").GetProperty("type_k").GetString());
        Assert.Equal("f16", s.GetProperty("kv_cache").GetProperty("type_v").GetString());
        Assert.Equal(1, s.GetProperty("adapters").GetProperty("registered").GetInt32());
    }

    [Fact]
    public async Task AdaptersListLoadAndUnloadByName()
    {
        async Task<JsonElement> Call(HttpMethod method, string path, HttpStatusCode expected = HttpStatusCode.OK)
        {
            var r = await _f.Http.SendAsync(Authorized(method, path));
            Assert.Equal(expected, r.StatusCode);
            return JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
        }
        var list = await Call(HttpMethod.Get, "/scion/adapters");
        Assert.True(list.GetProperty("runtime_loads").GetBoolean());
        var a = list.GetProperty("data").EnumerateArray().Single();
        Assert.Equal(ServerFixture.AdapterName, a.GetProperty("id").GetString());
        Assert.Equal("registered", a.GetProperty("state").GetString());
        Assert.Equal(JsonValueKind.Null, a.GetProperty("rank").ValueKind); // unknown until first loaded
        Assert.False(a.TryGetProperty("folder", out _)); // no file layout shown

        var loaded = await Call(HttpMethod.Post, $"/scion/adapters/{ServerFixture.AdapterName}/load");
        Assert.Equal("loaded", loaded.GetProperty("state").GetString());
        Assert.Equal(4, loaded.GetProperty("rank").GetInt32());
        Assert.Equal(8, loaded.GetProperty("alpha").GetDouble());
        Assert.Equal("lora", loaded.GetProperty("method").GetString());
        Assert.Equal(["o_proj", "q_proj", "v_proj"], loaded.GetProperty("targets").EnumerateArray().Select(t => t.GetString()!).Order());
        Assert.True(loaded.GetProperty("bytes").GetInt64() > 0);

        // While a request holds it, it stays: 409.
        using (await _f.Host.Adapters!.AcquireAsync(ServerFixture.AdapterName))
        {
            var busy = await Call(HttpMethod.Post, $"/scion/adapters/{ServerFixture.AdapterName}/unload", HttpStatusCode.Conflict);
            Assert.Equal("adapter_in_use", busy.GetProperty("error").GetProperty("code").GetString());
        }
        var unloaded = await Call(HttpMethod.Post, $"/scion/adapters/{ServerFixture.AdapterName}/unload");
        Assert.Equal("registered", unloaded.GetProperty("state").GetString());
        Assert.Equal(4, unloaded.GetProperty("rank").GetInt32()); // still known after the eviction
        var unknown = await Call(HttpMethod.Post, "/scion/adapters/nope/load", HttpStatusCode.NotFound);
        Assert.Equal("model_not_found", unknown.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task AFileCheckReadsItAsAJobWouldOrNamesTheLine()
    {
        async Task<string> Upload(string name, string text)
        {
            var form = new MultipartFormDataContent { { new StringContent("fine-tune"), "purpose" }, { new StringContent(text), "file", name } };
            var r = await _f.Http.SendAsync(Authorized(HttpMethod.Post, "/v1/files", form));
            r.EnsureSuccessStatusCode();
            return JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        }
        string good = await Upload("good.jsonl", "{\"prompt\": \"Q: a? A:\", \"completion\": \" b.\"}\n\n{\"text\": \"Once upon a time\"}\n");
        var ok = await _f.Http.SendAsync(Authorized(HttpMethod.Post, $"/scion/files/{good}/check"));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        var check = JsonDocument.Parse(await ok.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(2, check.GetProperty("examples").GetInt32());
        Assert.True(check.GetProperty("target_tokens").GetInt64() < check.GetProperty("tokens").GetInt64()); // the prompt is not trained on

        string bad = await Upload("bad.jsonl", "{\"text\": \"ok\"}\n{\"text\": 5}\n");
        var refused = await _f.Http.SendAsync(Authorized(HttpMethod.Post, $"/scion/files/{bad}/check"));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var error = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.StartsWith($"file {bad} (bad.jsonl) line 2: field \"text\" must be a string", error.GetProperty("message").GetString());
        Assert.DoesNotContain(_data, error.GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await _f.Http.SendAsync(Authorized(HttpMethod.Post, "/scion/files/file-nope/check"))).StatusCode);
    }
}
