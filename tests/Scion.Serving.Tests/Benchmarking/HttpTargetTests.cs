using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Scion.Serving.Benchmarking;

namespace Scion.Serving.Tests.Benchmarking;

/// <summary>The HTTP target against a minimal OpenAI-style SSE server on 127.0.0.1 port 0 (raw sockets: no server
/// project needed): what it sends, how it counts streamed tokens, and that server errors become failed requests.</summary>
public class HttpTargetTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(1);

    /// <summary>Answers GET /v1/models with one model and POST /v1/completions with max_tokens SSE chunks (or a 400
    /// when the model is "bad"); records every completion body.</summary>
    private sealed class FakeServer : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        public List<JsonNode> Bodies { get; } = [];

        public FakeServer()
        {
            _listener.Start();
            _loop = Task.Run(AcceptAsync);
        }

        public Uri Url => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");

        private async Task AcceptAsync()
        {
            try
            {
                while (true)
                {
                    var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                    _ = Task.Run(() => ServeAsync(client));
                }
            }
            catch (OperationCanceledException) { }
            catch (SocketException) { }
        }

        private async Task ServeAsync(TcpClient client)
        {
            using var _ = client;
            var stream = client.GetStream();
            var head = new StringBuilder();
            var buffer = new byte[1];
            while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
            {
                if (await stream.ReadAsync(buffer) == 0) return;
                head.Append((char)buffer[0]);
            }
            string headers = head.ToString();
            int length = headers.Split("\r\n").Where(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
                .Select(l => int.Parse(l[15..].Trim())).FirstOrDefault();
            var body = new byte[length];
            await stream.ReadExactlyAsync(body);
            async Task Send(string status, string type, string content) =>
                await stream.WriteAsync(Encoding.UTF8.GetBytes($"HTTP/1.1 {status}\r\nContent-Type: {type}\r\nConnection: close\r\n\r\n{content}"));
            if (headers.StartsWith("GET /v1/models", StringComparison.Ordinal))
            {
                await Send("200 OK", "application/json", """{"object":"list","data":[{"id":"served-model","object":"model"}]}""");
                return;
            }
            var json = JsonNode.Parse(body)!;
            lock (Bodies) Bodies.Add(json);
            if (json["model"]!.GetValue<string>() == "bad")
            {
                await Send("400 Bad Request", "application/json", """{"error":{"message":"no such model","type":"invalid_request_error","param":"model","code":null}}""");
                return;
            }
            var sse = new StringBuilder();
            int n = json["max_tokens"]!.GetValue<int>();
            for (int i = 0; i < n; i++) sse.Append($"data: {{\"choices\":[{{\"text\":\"t{i}\",\"index\":0,\"finish_reason\":null}}]}}\n\n");
            sse.Append("data: {\"choices\":[{\"text\":\"\",\"index\":0,\"finish_reason\":\"length\"}]}\n\ndata: [DONE]\n\n");
            await Send("200 OK", "text/event-stream", sse.ToString());
        }

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            _listener.Stop();
            await _loop;
        }
    }

    [Fact]
    public async Task StreamsAreCountedTokenByTokenAndRequestsCarryThePlan()
    {
        await using var server = new FakeServer();
        using var http = new HttpClient();
        var ct = TestContext.Current.CancellationToken;
        string model = await HttpTarget.FirstModelAsync(http, server.Url, ct);
        Assert.Equal("served-model", model);
        var plan = LoadPlan.Create(new LoadSpec { Concurrency = 3, Requests = 9, PromptTokens = LengthDistribution.Fixed(12), OutputTokens = LengthDistribution.Parse("2..6", "o"), Seed = 5 });
        var report = await LoadRunner.RunAsync(plan, new HttpTarget(http, server.Url, model, ignoreEos: true), cancellationToken: ct).WaitAsync(Timeout, ct);
        Assert.Equal(9, report.RequestsCompleted);
        Assert.Equal(plan.Requests.Sum(r => (long)r.MaxTokens), report.OutputTokens);
        Assert.Equal(report.OutputTokens - 9, report.InterTokenLatency.Count);
        Assert.Null(report.Engine);
        Assert.Equal(9, server.Bodies.Count);
        foreach (var body in server.Bodies)
        {
            Assert.Equal("served-model", body["model"]!.GetValue<string>());
            Assert.True(body["stream"]!.GetValue<bool>());
            Assert.True(body["ignore_eos"]!.GetValue<bool>());
            Assert.Equal(12, body["prompt"]!.AsArray().Count);
        }
        var sent = server.Bodies.Select(b => string.Join(',', b["prompt"]!.AsArray().Select(t => t!.GetValue<int>()))).Order().ToList();
        Assert.Equal(plan.Requests.Select(r => string.Join(',', r.PromptTokens)).Order().ToList(), sent);
    }

    [Fact]
    public async Task AServerErrorIsAFailedRequestWithItsMessage()
    {
        await using var server = new FakeServer();
        using var http = new HttpClient();
        var ct = TestContext.Current.CancellationToken;
        var plan = LoadPlan.Create(new LoadSpec { Concurrency = 1, Requests = 2 });
        var report = await LoadRunner.RunAsync(plan, new HttpTarget(http, server.Url, "bad", ignoreEos: false), cancellationToken: ct).WaitAsync(Timeout, ct);
        Assert.Equal(0, report.RequestsCompleted);
        Assert.Equal(2, report.RequestsFailed);
        Assert.Contains("HTTP 400", report.FirstError);
        Assert.Contains("no such model", report.FirstError);
    }
}
