using System.Net;
using System.Text;
using System.Text.Json;
using Scion.Models.Adapters;
using Scion.Models.Loading;
using Scion.Testing;

namespace Scion.Server.Tests;

/// <summary>vLLM's load/unload_lora_adapter, confined to the adapters folder, and /tokenize, /detokenize.</summary>
public sealed class RuntimeAdapterTests
{
    private static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    private static async Task<(HttpStatusCode Status, JsonElement Body)> Post(ServerFixture f, string path, object body)
    {
        var r = await f.Http.PostAsync(path, Json(body));
        string text = await r.Content.ReadAsStringAsync();
        return (r.StatusCode, r.Content.Headers.ContentType?.MediaType == "application/json" ? JsonDocument.Parse(text).RootElement.Clone() : JsonDocument.Parse(JsonSerializer.Serialize(text)).RootElement.Clone());
    }

    private static async Task<(HttpStatusCode, string?)> Chat(ServerFixture f, string model)
    {
        var (status, body) = await Post(f, "/v1/chat/completions", new { model, messages = new[] { new { role = "user", content = "Once upon a time" } }, max_tokens = 12, temperature = 0 });
        return (status, status == HttpStatusCode.OK ? body.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString() : null);
    }

    [Fact]
    public async Task An_adapter_loaded_at_run_time_serves_requests_until_it_is_unloaded()
    {
        await using var f = await ServerFixture.StartAsync();
        using (var loaded = ModelLoader.Load(BundledModel.Stories260K)) ServerFixture.WriteAdapter(loaded, Path.Combine(f.AdaptersDir, "late"), seed: 9);
        Assert.Equal(HttpStatusCode.NotFound, (await Chat(f, "late")).Item1);
        var (status, body) = await Post(f, "/v1/load_lora_adapter", new { lora_name = "late", lora_path = "late" });
        Assert.True(status == HttpStatusCode.OK, body.ToString());
        var models = JsonDocument.Parse(await f.Http.GetStringAsync("/v1/models")).RootElement.GetProperty("data").EnumerateArray().ToList();
        var late = models.Single(m => m.GetProperty("id").GetString() == "late");
        Assert.Equal(ServerFixture.ModelId, late.GetProperty("parent").GetString());
        var (ok, adapted) = await Chat(f, "late");
        Assert.Equal(HttpStatusCode.OK, ok);
        Assert.NotEqual((await Chat(f, ServerFixture.ModelId)).Item2, adapted);
        // Loading the same name again is refused; unloading makes it unknown.
        Assert.Equal(HttpStatusCode.BadRequest, (await Post(f, "/v1/load_lora_adapter", new { lora_name = "late", lora_path = "late" })).Status);
        Assert.Equal(HttpStatusCode.OK, (await Post(f, "/v1/unload_lora_adapter", new { lora_name = "late" })).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await Chat(f, "late")).Item1);
        var again = await Post(f, "/v1/unload_lora_adapter", new { lora_name = "late" });
        Assert.Equal(HttpStatusCode.NotFound, again.Status);
        Assert.Equal("model_not_found", again.Body.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Paths_outside_the_adapters_folder_are_refused_through_dots_absolute_paths_and_links()
    {
        await using var f = await ServerFixture.StartAsync();
        string outside = Path.Combine(Path.GetTempPath(), $"scion-outside-{Guid.NewGuid():N}");
        using (var loaded = ModelLoader.Load(BundledModel.Stories260K)) ServerFixture.WriteAdapter(loaded, Path.Combine(outside, "evil"), seed: 3);
        try
        {
            Directory.CreateSymbolicLink(Path.Combine(f.AdaptersDir, "link-to-adapter"), Path.Combine(outside, "evil"));
            Directory.CreateSymbolicLink(Path.Combine(f.AdaptersDir, "link-to-parent"), outside);
            string relativeOut = Path.GetRelativePath(f.AdaptersDir, Path.Combine(outside, "evil"));
            foreach (var path in new[] { relativeOut, Path.Combine(outside, "evil"), "link-to-adapter", "link-to-parent/evil", "link-to-parent/../../" + Path.GetFileName(outside) + "/evil" })
            {
                var (status, body) = await Post(f, "/v1/load_lora_adapter", new { lora_name = "evil", lora_path = path });
                Assert.True(status == HttpStatusCode.Forbidden, $"{path}: {status} {body}");
                Assert.Equal("lora_path", body.GetProperty("error").GetProperty("param").GetString());
            }
            Assert.Equal(HttpStatusCode.NotFound, (await Chat(f, "evil")).Item1);
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public async Task A_broken_or_misshapen_adapter_fails_the_load_call_and_stays_unregistered()
    {
        await using var f = await ServerFixture.StartAsync();
        string folder = Path.Combine(f.AdaptersDir, "misshapen");
        PeftAdapterFiles.Save(folder, new PeftAdapterConfig { R = 2, LoraAlpha = 4, TargetModules = [LoraModules.Q] },
            [new LoraTensorPair { Layer = 0, Module = LoraModules.Q, Rank = 2, In = 7, Out = 5, A = new float[14], B = new float[10] }]);
        var (status, body) = await Post(f, "/v1/load_lora_adapter", new { lora_name = "misshapen", lora_path = "misshapen" });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("lora_path", body.GetProperty("error").GetProperty("param").GetString());
        Assert.DoesNotContain("misshapen", await f.Http.GetStringAsync("/v1/models"));
        Directory.CreateDirectory(Path.Combine(f.AdaptersDir, "empty"));
        Assert.Equal(HttpStatusCode.BadRequest, (await Post(f, "/v1/load_lora_adapter", new { lora_name = "empty", lora_path = "empty" })).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await Post(f, "/v1/load_lora_adapter", new { lora_name = "../x", lora_path = "empty" })).Status);
    }

    [Fact]
    public async Task Tokenize_and_detokenize_round_trip_text_and_chat_messages()
    {
        await using var f = await ServerFixture.StartAsync();
        var (status, body) = await Post(f, "/tokenize", new { prompt = "Once upon a time" });
        Assert.Equal(HttpStatusCode.OK, status);
        int[] ids = [.. body.GetProperty("tokens").EnumerateArray().Select(e => e.GetInt32())];
        Assert.Equal(f.Host.Tokenizer.Encode("Once upon a time", addSpecial: true, parseSpecial: false), ids);
        Assert.Equal(ids.Length, body.GetProperty("count").GetInt32());
        Assert.Equal(f.Host.ContextLength, body.GetProperty("max_model_len").GetInt32());
        var noSpecial = (await Post(f, "/tokenize", new { prompt = "Once upon a time", add_special_tokens = false })).Body;
        Assert.Equal(ids.Length - 1, noSpecial.GetProperty("count").GetInt32());
        var text = (await Post(f, "/detokenize", new { tokens = ids[1..] })).Body;
        Assert.Equal("Once upon a time", text.GetProperty("prompt").GetString());
        // Messages are rendered as the chat endpoint renders them: the same prompt token count.
        var messages = new[] { new { role = "user", content = "Once upon a time" } };
        int chatPrompt = (await Post(f, "/v1/chat/completions", new { messages, max_tokens = 1 })).Body.GetProperty("usage").GetProperty("prompt_tokens").GetInt32();
        Assert.Equal(chatPrompt, (await Post(f, "/tokenize", new { messages })).Body.GetProperty("count").GetInt32());
        var bad = await Post(f, "/detokenize", new { tokens = new[] { 1, 999999 } });
        Assert.Equal(HttpStatusCode.BadRequest, bad.Status);
        Assert.Equal("tokens", bad.Body.GetProperty("error").GetProperty("param").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, (await Post(f, "/tokenize", new { })).Status);
    }
}
