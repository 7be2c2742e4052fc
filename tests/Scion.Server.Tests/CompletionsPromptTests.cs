using System.Text.Json;

namespace Scion.Server.Tests;

/// <summary>/v1/completions prompt forms (a string, strings, token ids, lists of token ids), n, echo and logprobs,
/// each checked against the plain string prompt run greedily.</summary>
public sealed class CompletionsPromptTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private ServerFixture F => shared.Fixture;

    private async Task<JsonElement> CompleteAsync(string prompt, string extra = "")
    {
        var r = await Http.PostAsync(F.Http, "/v1/completions", $$"""{"prompt":{{prompt}},"max_tokens":8,"temperature":0{{extra}}}""");
        Assert.True(r.Status == 200, r.Body);
        return r.Json;
    }

    private static string[] Texts(JsonElement result) =>
        [.. result.GetProperty("choices").EnumerateArray().OrderBy(c => c.GetProperty("index").GetInt32()).Select(c => c.GetProperty("text").GetString()!)];

    private int[] Ids(string text) => F.Host.Tokenizer.Encode(text, addSpecial: true, parseSpecial: false);

    [Fact]
    public async Task Every_prompt_form_gives_the_text_of_its_string_prompt()
    {
        string a = Texts(await CompleteAsync("\"Once upon a time\""))[0], b = Texts(await CompleteAsync("\"Lily went\""))[0];
        Assert.NotEqual(a, b);
        Assert.Equal([a, b], Texts(await CompleteAsync("[\"Once upon a time\", \"Lily went\"]")));
        Assert.Equal([a], Texts(await CompleteAsync(JsonSerializer.Serialize(Ids("Once upon a time")))));
        Assert.Equal([a, b], Texts(await CompleteAsync(JsonSerializer.Serialize(new[] { Ids("Once upon a time"), Ids("Lily went") }))));
        // n = 2 per prompt: choice index = prompt × n + choice; greedy choices agree.
        var two = await CompleteAsync("[\"Once upon a time\", \"Lily went\"]", ",\"n\":2");
        Assert.Equal([0, 1, 2, 3], two.GetProperty("choices").EnumerateArray().Select(c => c.GetProperty("index").GetInt32()).Order());
        Assert.Equal([a, a, b, b], Texts(two));
    }

    [Fact]
    public async Task Echo_prepends_the_prompt_and_logprobs_list_every_token()
    {
        string plain = Texts(await CompleteAsync("\"Once upon a time\""))[0];
        var ids = Ids("Once upon a time");
        string promptText = F.Host.Tokenizer.Decode(ids);
        Assert.Equal(promptText + plain, Texts(await CompleteAsync("\"Once upon a time\"", ",\"echo\":true"))[0]);

        var withLogprobs = await CompleteAsync("\"Once upon a time\"", ",\"logprobs\":2,\"ignore_eos\":true");
        var lp = withLogprobs.GetProperty("choices")[0].GetProperty("logprobs");
        Assert.Equal(8, lp.GetProperty("tokens").GetArrayLength());
        Assert.Equal(8, lp.GetProperty("token_logprobs").GetArrayLength());
        Assert.Equal(8, lp.GetProperty("text_offset").GetArrayLength());
        Assert.Equal(plain, string.Concat(lp.GetProperty("tokens").EnumerateArray().Select(t => t.GetString())));
        foreach (var top in lp.GetProperty("top_logprobs").EnumerateArray())
            Assert.InRange(top.EnumerateObject().Count(), 1, 2); // two tokens with the same text share a key
        Assert.All(lp.GetProperty("token_logprobs").EnumerateArray(), v => Assert.True(v.GetDouble() <= 0));

        // Echo with logprobs: the prompt's tokens come first, the very first without a logprob.
        var echoed = (await CompleteAsync("\"Once upon a time\"", ",\"logprobs\":1,\"echo\":true,\"ignore_eos\":true")).GetProperty("choices")[0].GetProperty("logprobs");
        Assert.Equal(ids.Length + 8, echoed.GetProperty("tokens").GetArrayLength());
        Assert.Equal(JsonValueKind.Null, echoed.GetProperty("token_logprobs")[0].ValueKind);
        Assert.Equal(JsonValueKind.Number, echoed.GetProperty("token_logprobs")[1].ValueKind);
    }
}
