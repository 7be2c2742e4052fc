using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using OpenAI.Embeddings;

namespace Scion.Server.Tests;

/// <summary>/v1/embeddings through the OpenAI .NET SDK: unit vectors, float and base64 alike, deterministic, and
/// equal to an independent mean over ForwardHidden.</summary>
public sealed class EmbeddingsTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private ServerFixture F => shared.Fixture;

    [Fact]
    public async Task Vectors_are_unit_length_deterministic_and_the_same_in_both_encodings()
    {
        var client = F.Client().GetEmbeddingClient(ServerFixture.ModelId);
        var texts = new[] { "Once upon a time", "The dog ran to the park", "Once upon a time" };
        var result = (await client.GenerateEmbeddingsAsync(texts)).Value;
        Assert.Equal(3, result.Count);
        var vectors = result.OrderBy(e => e.Index).Select(e => e.ToFloats().ToArray()).ToList();
        foreach (var v in vectors)
        {
            Assert.Equal(F.Host.Model.Config.Dim, v.Length);
            Assert.Equal(1.0, Math.Sqrt(v.Sum(x => (double)x * x)), 1e-5);
        }
        Assert.Equal(vectors[0], vectors[2]);
        Assert.NotEqual(vectors[0], vectors[1]);
        Assert.Equal(texts.Sum(t => F.Host.Tokenizer.Encode(t, addSpecial: true, parseSpecial: false).Length), result.Usage.InputTokenCount);

        // The SDK asks for base64 by default; a raw float request must give the same numbers.
        var raw = await F.Http.PostAsync("/v1/embeddings", new StringContent(JsonSerializer.Serialize(new { input = texts[0], encoding_format = "float" }), Encoding.UTF8, "application/json"));
        var floats = JsonDocument.Parse(await raw.Content.ReadAsStringAsync()).RootElement.GetProperty("data")[0].GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        Assert.Equal(vectors[0], floats);

        // Independently: the mean of the final hidden states over the prompt's tokens, normalised.
        int[] ids = F.Host.Tokenizer.Encode(texts[0], addSpecial: true, parseSpecial: false);
        var hidden = await F.Host.Engine.RunExclusiveAsync(m => m.ForwardHidden(new Scion.Models.Llama.ForwardBatch().AddSequence(0, ids, 0), new Scion.Models.KvCache.PagedKvCache(m.Config, ids.Length)));
        int d = F.Host.Model.Config.Dim;
        var mean = Enumerable.Range(0, d).Select(i => Enumerable.Range(0, ids.Length).Average(t => (double)hidden[t * d + i])).ToArray();
        double norm = Math.Sqrt(mean.Sum(x => x * x));
        for (int i = 0; i < d; i++) Assert.Equal(mean[i] / norm, vectors[0][i], 1e-5);
    }

    [Fact]
    public async Task The_adapter_changes_the_vectors_and_bad_input_is_400()
    {
        var baseVector = (await F.Client().GetEmbeddingClient(ServerFixture.ModelId).GenerateEmbeddingAsync("Once upon a time")).Value.ToFloats().ToArray();
        var adapted = (await F.Client().GetEmbeddingClient(ServerFixture.AdapterName).GenerateEmbeddingAsync("Once upon a time")).Value.ToFloats().ToArray();
        Assert.NotEqual(baseVector, adapted);
        var missing = await Assert.ThrowsAsync<ClientResultException>(() => F.Client().GetEmbeddingClient("nope").GenerateEmbeddingAsync("x"));
        Assert.Equal(404, missing.Status);
        foreach (var body in new object[] { new { }, new { input = "" }, new { input = new[] { 1, 999999 } }, new { input = "x", encoding_format = "int8" } })
        {
            var r = await F.Http.PostAsync("/v1/embeddings", new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        }
    }
}
