using System.Text;
using System.Text.Json;

namespace Scion.Server.Tests;

/// <summary>Raw HTTP for what the SDK hides: exact bytes, statuses and headers.</summary>
internal static class Http
{
    public static HttpRequestMessage Post(string path, string json, string? key = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (key is not null) request.Headers.Add("Authorization", $"Bearer {key}");
        return request;
    }

    public sealed record Reply(int Status, string Body, HttpResponseMessage Response)
    {
        public JsonElement Json => JsonDocument.Parse(Body).RootElement;
        public string? ErrorParam => Json.GetProperty("error").GetProperty("param").GetString();
        public string? ErrorCode => Json.GetProperty("error").GetProperty("code").GetString();
    }

    public static async Task<Reply> SendAsync(HttpClient http, HttpRequestMessage request)
    {
        var response = await http.SendAsync(request);
        return new Reply((int)response.StatusCode, await response.Content.ReadAsStringAsync(), response);
    }

    public static Task<Reply> PostAsync(HttpClient http, string path, string json, string? key = null) => SendAsync(http, Post(path, json, key));
}
