using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Scion.Serving.Benchmarking;

/// <summary>
/// Drives any OpenAI-compatible server (llama.cpp's llama-server, vLLM, scion serve) with streaming
/// <c>/v1/completions</c>: the prompt goes as token ids, so every server sees the same tokens whatever its tokenizer;
/// greedy, <c>ignore_eos</c> as the spec says. Token times are the arrivals of SSE chunks carrying a choice (these
/// servers send one token a chunk), so TTFT and inter-token gaps include the network and the server's HTTP layer.
/// </summary>
public sealed class HttpTarget(HttpClient http, Uri baseUrl, string model, bool ignoreEos, IReadOnlyList<string>? adapterNames = null) : ILoadTarget
{
    public string Description => $"OpenAI-compatible server at {baseUrl}";

    /// <summary>The first model id the server lists (GET /v1/models): what to send when the user named none.</summary>
    public static async Task<string> FirstModelAsync(HttpClient http, Uri baseUrl, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync(new Uri(baseUrl, "v1/models"), cancellationToken).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        var doc = JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
        return doc?["data"]?[0]?["id"]?.GetValue<string>()
            ?? throw new InvalidOperationException($"GET {baseUrl}v1/models listed no model; name one with --model-name.");
    }

    public async Task<RequestOutcome> RunAsync(PlannedRequest request, Func<double> now, CancellationToken cancellationToken)
    {
        var body = new JsonObject
        {
            ["model"] = request.Adapter is { } a ? adapterNames![a] : model,
            ["prompt"] = new JsonArray([.. request.PromptTokens.Select(t => (JsonNode)t)]),
            ["max_tokens"] = request.MaxTokens,
            ["temperature"] = 0,
            ["stream"] = true,
            ["ignore_eos"] = ignoreEos,
        };
        double sent = now();
        var tokens = new List<double>(request.MaxTokens);
        int? cached = null;
        string? error = null;
        try
        {
            using var message = new HttpRequestMessage(HttpMethod.Post, new Uri(baseUrl, "v1/completions"))
            {
                Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
            };
            message.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
            // A fresh connection per request: llama-server closes kept-alive connections it considers idle, and a
            // pooled one it closed fails the next send ("an error occurred while sending the request").
            message.Headers.ConnectionClose = true;
            using var response = await http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                string text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
                error = $"HTTP {(int)response.StatusCode}: {Truncate(text)}";
            }
            else
            {
                using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
                using var reader = new StreamReader(stream, Encoding.UTF8);
                while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
                {
                    if (!line.StartsWith("data:", StringComparison.Ordinal)) continue;
                    string data = line[5..].Trim();
                    if (data == "[DONE]") break;
                    double at = now();
                    JsonNode? chunk;
                    try { chunk = JsonNode.Parse(data); }
                    catch (JsonException) { error = $"unparseable SSE data: {Truncate(data)}"; break; }
                    if (chunk?["error"] is { } e) { error = e["message"]?.ToString() ?? e.ToJsonString(); break; }
                    if (chunk?["choices"] is JsonArray { Count: > 0 } choices && HasToken(choices[0]))
                        tokens.Add(at);
                    if (chunk?["usage"]?["prompt_tokens_details"]?["cached_tokens"] is { } c) cached = c.GetValue<int>();
                }
            }
        }
        catch (HttpRequestException e)
        {
            error = e.Message;
        }
        catch (IOException e)
        {
            error = e.Message;
        }
        return new RequestOutcome(request.Index, sent, now(), tokens, request.PromptTokens.Length, cached, error);
    }

    // A chunk carries a token when it has text (possibly empty while a character is incomplete) and is not only the
    // final chunk with a finish reason and no text.
    private static bool HasToken(JsonNode? choice) =>
        choice?["text"] is JsonValue v && (v.GetValue<string>().Length > 0 || choice["finish_reason"] is null);

    private static string Truncate(string s) => s.Length <= 300 ? s : s[..300] + "...";

    public TargetCounters? Counters() => null;
}
