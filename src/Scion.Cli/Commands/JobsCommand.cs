using System.CommandLine;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Scion.Cli.CommandLine;

namespace Scion.Cli.Commands;

/// <summary>
/// `scion jobs list|show ID|cancel ID [--url URL]`: the fine-tuning jobs of a running `scion serve` (or any server with
/// OpenAI's fine-tuning API), through its HTTP API. The key comes from --api-key or SCION_API_KEY and is never printed.
/// </summary>
internal static class JobsCommand
{
    public static Command Build()
    {
        var url = new Option<string>("--url") { Description = "the server", DefaultValueFactory = _ => "http://127.0.0.1:8080", HelpName = "URL", Recursive = true };
        var apiKey = new Option<string?>("--api-key") { Description = "bearer key for a server started with keys (default: $SCION_API_KEY)", HelpName = "KEY", Recursive = true };
        var json = new Option<bool>("--json") { Description = "print the server's JSON instead of a summary", Recursive = true };
        var limit = new Option<int>("--limit") { Description = "list: jobs to show, newest first (1..100)", DefaultValueFactory = _ => 20, HelpName = "N", Recursive = true };
        var events = new Option<int>("--events") { Description = "show: latest events to print", DefaultValueFactory = _ => 10, HelpName = "N", Recursive = true };
        var id = new Argument<string>("ID") { Description = "a job id (ftjob-...)" };

        var list = new Command("list", "list fine-tuning jobs, newest first");
        var show = new Command("show", "show one job and its latest events") { id };
        var cancel = new Command("cancel", "cancel a job that is validating, queued or running") { id };
        var command = new Command("jobs", "list, show or cancel the fine-tuning jobs of a running scion serve") { list, show, cancel };
        command.With(url, apiKey, json, limit, events);

        Client Connect(ParseResult p) => new(p.GetValue(url)!, p.GetValue(apiKey) ?? Environment.GetEnvironmentVariable("SCION_API_KEY"));
        list.WithHandler((p, io, _) =>
        {
            int n = p.GetValue(limit);
            if (n is < 1 or > 100) throw new UsageException($"--limit {n}: expected 1..100.");
            using var c = Connect(p);
            using var doc = c.Get($"/v1/fine_tuning/jobs?limit={n}");
            if (p.GetValue(json)) io.Out.WriteLine(doc.RootElement.GetRawText());
            else
                foreach (var job in doc.RootElement.GetProperty("data").EnumerateArray()) io.Out.WriteLine(Line(job));
            return ExitCodes.Success;
        });
        show.WithHandler((p, io, _) =>
        {
            using var c = Connect(p);
            string jobId = Uri.EscapeDataString(p.GetValue(id)!);
            using var job = c.Get($"/v1/fine_tuning/jobs/{jobId}");
            int n = Math.Clamp(p.GetValue(events), 1, 100);
            using var ev = c.Get($"/v1/fine_tuning/jobs/{jobId}/events?limit={n}");
            if (p.GetValue(json))
            {
                io.Out.WriteLine(job.RootElement.GetRawText());
                io.Out.WriteLine(ev.RootElement.GetRawText());
                return ExitCodes.Success;
            }
            io.Out.WriteLine(Line(job.RootElement));
            if (job.RootElement.GetProperty("error") is { ValueKind: JsonValueKind.Object } error)
                io.Out.WriteLine($"  error {error.GetProperty("code").GetString()}: {error.GetProperty("message").GetString()}");
            // Events come newest first; print them in order.
            foreach (var e in ev.RootElement.GetProperty("data").EnumerateArray().Reverse())
            {
                var at = DateTimeOffset.FromUnixTimeSeconds(e.GetProperty("created_at").GetInt64()).UtcDateTime;
                io.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {at:yyyy-MM-dd HH:mm:ss}  {e.GetProperty("message").GetString()}"));
            }
            return ExitCodes.Success;
        });
        cancel.WithHandler((p, io, _) =>
        {
            using var c = Connect(p);
            using var job = c.Post($"/v1/fine_tuning/jobs/{Uri.EscapeDataString(p.GetValue(id)!)}/cancel");
            io.Out.WriteLine(p.GetValue(json) ? job.RootElement.GetRawText() : Line(job.RootElement));
            return ExitCodes.Success;
        });
        return command;
    }

    private static string Line(JsonElement job)
    {
        string Str(string name) => job.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "-";
        string tokens = job.TryGetProperty("trained_tokens", out var t) && t.ValueKind == JsonValueKind.Number ? t.GetInt64().ToString(CultureInfo.InvariantCulture) : "-";
        return $"{Str("id")}  {Str("status"),-16}  {Str("model")}  {Str("fine_tuned_model")}  trained_tokens {tokens}";
    }

    /// <summary>GET/POST with the key; an OpenAI error object or an unreachable server becomes one clear error line.</summary>
    private sealed class Client : IDisposable
    {
        private readonly HttpClient _http;
        private readonly string _url;

        public Client(string url, string? key)
        {
            if (!Uri.TryCreate(url.TrimEnd('/') + "/", UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                throw new UsageException($"--url {url}: expected an http(s) URL such as http://127.0.0.1:8080.");
            _url = uri.ToString().TrimEnd('/');
            _http = new HttpClient { BaseAddress = uri, Timeout = TimeSpan.FromSeconds(30) };
            if (!string.IsNullOrEmpty(key)) _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        public JsonDocument Get(string path) => Send(new HttpRequestMessage(HttpMethod.Get, path.TrimStart('/')), path);

        public JsonDocument Post(string path) => Send(new HttpRequestMessage(HttpMethod.Post, path.TrimStart('/')), path);

        private JsonDocument Send(HttpRequestMessage request, string path)
        {
            HttpResponseMessage response;
            string body;
            try
            {
                response = _http.Send(request);
                body = response.Content.ReadAsStringAsync().GetAwaiter().GetResult();
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                throw new InvalidOperationException($"cannot reach {_url}{path}: {e.Message}", e);
            }
            JsonDocument doc;
            try
            {
                doc = JsonDocument.Parse(body);
            }
            catch (JsonException)
            {
                throw new InvalidDataException($"{_url}{path} answered {(int)response.StatusCode} with a body that is not JSON.");
            }
            if (!response.IsSuccessStatusCode)
            {
                string message = doc.RootElement.TryGetProperty("error", out var error) && error.TryGetProperty("message", out var m) ? m.GetString() ?? "" : body;
                doc.Dispose();
                throw new InvalidOperationException($"{_url}{path}: {(int)response.StatusCode}: {message}");
            }
            return doc;
        }

        public void Dispose() => _http.Dispose();
    }
}
