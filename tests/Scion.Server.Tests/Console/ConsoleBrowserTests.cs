using System.Net.Http.Json;
using System.Text;
using Microsoft.Playwright;
using Scion.Models.Adapters;
using static Microsoft.Playwright.Assertions;

namespace Scion.Server.Tests.Console;

/// <summary>One server (bundled stories260K, the tiny-lora adapter, fine-tuning on) and one headless Chromium for the
/// browser tests; each test opens its own browser context, so storage starts empty.</summary>
public sealed class ConsoleFixture : IAsyncLifetime
{
    public string DataDir { get; } = Path.Combine(Path.GetTempPath(), "scion-console-" + Guid.NewGuid().ToString("N"));
    public ServerFixture Server { get; private set; } = null!;
    public Browser? Browser { get; private set; }

    public async ValueTask InitializeAsync()
    {
        SetDefaultExpectTimeout(60_000);
        Server = await ServerFixture.StartAsync(dataDir: DataDir);
        if (Browser.FindChromium() is not null) Browser = await Browser.LaunchAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (Browser is not null) await Browser.DisposeAsync();
        await Server.DisposeAsync();
        if (Directory.Exists(DataDir)) Directory.Delete(DataDir, recursive: true);
    }
}

/// <summary>
/// The web console in a real browser against the real server: chat streams and stops, side by side with an adapter,
/// adapters load and unload, a training file is uploaded and checked, a job's loss curve grows while it trains and its
/// adapter then chats, the dashboard moves, and the API-key prompt. Where a test must see something mid-stream or
/// mid-training it holds the engine thread (a test hook) instead of racing it; waits are on page state, not sleeps.
/// Screenshots at 1280 px go to docs/ui when SCION_UI_SCREENSHOTS points there.
/// </summary>
public sealed class ConsoleBrowserTests(ConsoleFixture fixture) : IClassFixture<ConsoleFixture>
{
    private ServerFixture F => fixture.Server;

    private async Task<ConsolePage> Open(string hash, int width = 1280)
    {
        Browser.RequireChromium();
        var page = await fixture.Browser!.OpenAsync(F.Url, width);
        await page.Page.GotoAsync("/" + hash);
        return page;
    }

    /// <summary>Blocks the engine thread the first time a request reaches its <paramref name="index"/>-th generated
    /// token, until the returned gate is released: the page is then frozen mid-stream.</summary>
    private (TaskCompletionSource Reached, SemaphoreSlim Gate) HoldAtToken(int index)
    {
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gate = new SemaphoreSlim(0);
        F.Host.Engine.LogitsObserver = (_, _, generated, _) =>
        {
            if (generated == index && reached.TrySetResult()) gate.Wait(ServerFixture.Timeout);
        };
        return (reached, gate);
    }

    /// <summary>Waits for the hold to be reached; if the page shows an error instead, fails with what it shows.</summary>
    private static async Task Reached(TaskCompletionSource reached, ConsolePage p)
    {
        var error = p.Page.Locator(".msg .notice.error").WaitForAsync(new() { Timeout = (float)ServerFixture.Timeout.TotalMilliseconds });
        if (await Task.WhenAny(reached.Task, error) != reached.Task)
            Assert.Fail("the reply failed instead of streaming: " + await p.Page.Locator(".msg .notice.error").First.TextContentAsync());
    }

    private async Task SetSampling(IPage page, string temperature, string maxTokens)
    {
        await page.Locator("#chat-temperature").FillAsync(temperature);
        await page.Locator("#chat-max-tokens").FillAsync(maxTokens);
    }

    [Fact]
    public async Task ChatStreamsTheReplyAsItIsGenerated()
    {
        await using var p = await Open("#/chat");
        await SetSampling(p.Page, "0", "64");
        var (reached, gate) = HoldAtToken(6);
        try
        {
            await p.Page.Locator("#chat-input").FillAsync("Once upon a time");
            await p.Page.Locator("#chat-input").PressAsync("Enter"); // Enter sends
            await Reached(reached, p);
            // The engine is held after six tokens: the reply is unfinished, yet its first tokens are on the page.
            var streaming = p.Page.Locator(".msg.assistant.streaming .text");
            await Expect(streaming).Not.ToBeEmptyAsync();
            string partial = (await streaming.TextContentAsync())!;
            await Expect(p.Page.Locator(".msg.assistant .stats")).ToHaveCountAsync(0);
            gate.Release();
            await Expect(p.Page.Locator(".msg.assistant .stats")).ToContainTextAsync("tok/s");
            await Expect(p.Page.Locator(".msg.assistant .stats")).ToContainTextAsync("TTFT");
            string final = (await p.Page.Locator(".msg.assistant .text").TextContentAsync())!;
            Assert.StartsWith(partial, final);
            Assert.True(final.Length > partial.Length, $"the reply grew after the hold: '{partial}' → '{final}'");
        }
        finally
        {
            F.Host.Engine.LogitsObserver = null;
            gate.Release();
        }
        // Shift+Enter is a new line, not a send.
        await p.Page.Locator("#chat-input").FillAsync("one");
        await p.Page.Locator("#chat-input").PressAsync("Shift+Enter");
        await p.Page.Locator("#chat-input").PressSequentiallyAsync("two");
        Assert.Equal("one\ntwo", await p.Page.Locator("#chat-input").InputValueAsync());
        await Expect(p.Page.Locator(".msg.user")).ToHaveCountAsync(1);
        // The conversation is kept across a reload.
        string reply = (await p.Page.Locator(".msg.assistant .text").TextContentAsync())!;
        await p.Page.ReloadAsync();
        await Expect(p.Page.Locator(".msg.user .text")).ToHaveTextAsync("Once upon a time");
        await Expect(p.Page.Locator(".msg.assistant .text")).ToHaveTextAsync(reply);
        p.AssertNoErrors();
    }

    [Fact]
    public async Task StopCancelsTheReplyOnTheServer()
    {
        await using var p = await Open("#/chat");
        await SetSampling(p.Page, "0", "64");
        var cancelled = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        F.Host.Engine.CancelObserver = id => cancelled.TrySetResult(id);
        var (reached, gate) = HoldAtToken(4);
        try
        {
            await p.Page.Locator("#chat-input").FillAsync("Once upon a time");
            await p.Page.Locator("#chat-send").ClickAsync();
            await Reached(reached, p);
            await Expect(p.Page.Locator(".msg.assistant.streaming .text")).Not.ToBeEmptyAsync();
            await p.Page.Locator("#chat-stop").ClickAsync();
            await Expect(p.Page.Locator(".msg.assistant .stats")).ToContainTextAsync("stopped");
            gate.Release();
            // The browser's abort reached the engine: the request was cancelled, not left to run to 64 tokens.
            await cancelled.Task.WaitAsync(ServerFixture.Timeout);
            await Expect(p.Page.Locator("#chat-send")).ToBeEnabledAsync();
            await Expect(p.Page.Locator("#chat-stop")).ToBeDisabledAsync();
        }
        finally
        {
            F.Host.Engine.LogitsObserver = null;
            F.Host.Engine.CancelObserver = null;
            gate.Release();
        }
        p.AssertNoErrors();
    }

    [Fact]
    public async Task SideBySideSendsOnePromptToTheBaseAndAnAdapter()
    {
        await using var p = await Open("#/chat");
        await SetSampling(p.Page, "0", "24");
        await p.Page.Locator("#chat-side").CheckAsync();
        await p.Page.Locator("#chat-model-0").SelectOptionAsync(ServerFixture.ModelId);
        await p.Page.Locator("#chat-model-1").SelectOptionAsync(ServerFixture.AdapterName);
        await p.Page.Locator("#chat-system").FillAsync("You tell short stories.");
        await p.Page.Locator("#chat-input").FillAsync("Once upon a time");
        await p.Page.Locator("#chat-input").PressAsync("Enter");
        var base0 = p.Page.Locator("[data-pane='0'] .msg.assistant");
        var lora = p.Page.Locator("[data-pane='1'] .msg.assistant");
        await Expect(base0.Locator(".stats")).ToContainTextAsync("tokens");
        await Expect(lora.Locator(".stats")).ToContainTextAsync("tokens");
        string a = (await base0.Locator(".text").TextContentAsync())!, b = (await lora.Locator(".text").TextContentAsync())!;
        Assert.NotEqual("", a);
        Assert.NotEqual(a, b); // greedy text of the base and of the random adapter differ
        await p.ScreenshotAsync("chat");
        p.AssertNoErrors();
    }

    [Fact]
    public async Task AdaptersLoadUnloadAndSearchAThousand()
    {
        var store = F.Host.Adapters!;
        store.Unload(ServerFixture.AdapterName); // another test's chat may have left it resident
        string bulk = Path.Combine(Path.GetTempPath(), "scion-console-bulk-" + Guid.NewGuid().ToString("N"));
        string config = File.ReadAllText(Path.Combine(F.AdaptersDir, ServerFixture.AdapterName, PeftAdapterFiles.ConfigFileName));
        var names = Enumerable.Range(0, 1000).Select(i => $"customer-{i:D4}").ToList();
        foreach (string name in names)
        {
            Directory.CreateDirectory(Path.Combine(bulk, name));
            File.WriteAllText(Path.Combine(bulk, name, PeftAdapterFiles.ConfigFileName), config);
            store.RegisterFolder(name, Path.Combine(bulk, name));
        }
        try
        {
            int all = store.List().Count; // the thousand, tiny-lora, and whatever other tests published
            await using var p = await Open("#/adapters");
            await Expect(p.Page.Locator("#adapter-count")).ToHaveTextAsync($"{all} of {all}");
            int calls = 0;
            p.Page.Request += (_, r) => { if (r.Url.Contains("/scion/", StringComparison.Ordinal)) calls++; };
            await p.Page.Locator("#adapter-search").FillAsync("tiny");
            await Expect(p.Page.Locator("#adapter-count")).ToHaveTextAsync($"1 of {all}");
            await p.Page.Locator("#adapter-search").FillAsync("customer-09");
            await Expect(p.Page.Locator("#adapter-count")).ToHaveTextAsync($"100 of {all}");
            Assert.True(calls <= 1, $"searching made {calls} calls"); // filtering is local (a refresh may fall in between)
            await p.Page.Locator("#adapter-search").FillAsync(ServerFixture.AdapterName);

            var row = p.Page.Locator($"tr[data-adapter='{ServerFixture.AdapterName}']");
            await Expect(row.Locator("td").Nth(0)).ToHaveTextAsync("registered");
            await row.GetByRole(AriaRole.Button, new() { Name = "Load", Exact = true }).ClickAsync();
            await Expect(row.Locator("td").Nth(0)).ToHaveTextAsync("loaded");
            await Expect(row.Locator("td").Nth(1)).ToHaveTextAsync("lora");
            await Expect(row.Locator("td").Nth(2)).ToHaveTextAsync("4");
            await Expect(row.Locator("td").Nth(3)).ToHaveTextAsync("8");
            Assert.True(store.Find(ServerFixture.AdapterName)!.IsLoaded);
            await p.Page.Locator("#adapter-search").FillAsync("");
            await p.ScreenshotAsync("adapters", fullPage: false);
            await p.Page.Locator("#adapter-search").FillAsync(ServerFixture.AdapterName);
            await row.GetByRole(AriaRole.Button, new() { Name = "Unload", Exact = true }).ClickAsync();
            await Expect(row.Locator("td").Nth(0)).ToHaveTextAsync("registered");
            Assert.False(store.Find(ServerFixture.AdapterName)!.IsLoaded);
            p.AssertNoErrors();
        }
        finally
        {
            foreach (string name in names) store.Unregister(name);
            Directory.Delete(bulk, recursive: true);
        }
    }

    [Fact]
    public async Task ABadTrainingFileIsShownWithItsLineAndNotKept()
    {
        await using var p = await Open("#/fine-tuning");
        string bad = "{\"text\": \"fine\"}\n{\"text\": \"also fine\"}\n{\"question\": \"no text here\"}\n";
        await p.Page.Locator("#upload-file").SetInputFilesAsync(new FilePayload { Name = "bad.jsonl", MimeType = "application/jsonl", Buffer = Encoding.UTF8.GetBytes(bad) });
        await p.Page.GetByRole(AriaRole.Button, new() { Name = "Upload" }).ClickAsync();
        var notice = p.Page.Locator("#upload-notice.error");
        await Expect(notice).ToContainTextAsync("(bad.jsonl) line 3:");
        await Expect(notice).ToContainTextAsync("not kept");
        await Expect(p.Page.Locator("#files")).Not.ToContainTextAsync("bad.jsonl");
        Assert.DoesNotContain(F.Host.FineTuning!.ListFiles(null), f => f.Filename == "bad.jsonl");
        p.AssertNoErrors();
    }

    [Fact]
    public async Task AJobsLossCurveGrowsWhileItTrainsThenItsAdapterChats()
    {
        await using var p = await Open("#/fine-tuning");
        await p.Page.Locator("#upload-file").SetInputFilesAsync(new FilePayload { Name = "facts.jsonl", MimeType = "application/jsonl", Buffer = Encoding.UTF8.GetBytes(FineTuningTests.FactsJsonl()) });
        await p.Page.GetByRole(AriaRole.Button, new() { Name = "Upload" }).ClickAsync();
        await Expect(p.Page.Locator("#upload-notice.ok")).ToContainTextAsync("16 examples");
        await p.Page.Locator("#job-validation-file").SelectOptionAsync(new SelectOptionValue { Index = 1 }); // the same file
        await p.Page.Locator("#job-suffix").FillAsync("facts");
        await p.Page.Locator("#job-epochs").FillAsync("30");
        await p.Page.Locator("#job-batch").FillAsync("4");
        await p.Page.Locator("#job-rank").FillAsync("4");
        await p.Page.Locator("#job-create").ClickAsync();
        // The job page, or the form's error: either way something shows; fail with the error if it is that.
        await Expect(p.Page.Locator(".job-head .badge, #job-notice.error").First).ToBeVisibleAsync();
        if (await p.Page.Locator("#job-notice.error").IsVisibleAsync())
            Assert.Fail("creating the job failed: " + await p.Page.Locator("#job-notice").TextContentAsync());
        Assert.Matches("#/fine-tuning/ftjob-", p.Page.Url);

        var train = p.Page.Locator("#loss-chart polyline[data-series='train loss']");
        await Expect(train).ToHaveCountAsync(1);
        // Hold the engine thread (training runs on it): what the page shows now is a job still running.
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var gate = new SemaphoreSlim(0);
        var hold = F.Host.Engine.RunExclusiveAsync(_ => { held.SetResult(); gate.Wait(ServerFixture.Timeout); return 0; });
        int early;
        try
        {
            await held.Task.WaitAsync(ServerFixture.Timeout);
            await Expect(p.Page.Locator(".job-head .badge")).ToHaveTextAsync("running");
            early = int.Parse((await train.GetAttributeAsync("data-points"))!, System.Globalization.CultureInfo.InvariantCulture);
        }
        finally
        {
            gate.Release();
            await hold;
        }
        await Expect(p.Page.Locator(".job-head .badge")).ToHaveTextAsync("succeeded", new() { Timeout = 240_000 });
        await Expect(train).Not.ToHaveAttributeAsync("data-points", early.ToString(System.Globalization.CultureInfo.InvariantCulture));
        int final = int.Parse((await train.GetAttributeAsync("data-points"))!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(final > early, $"the curve grew from {early} to {final} points");
        await Expect(p.Page.Locator("#loss-chart polyline[data-series='validation loss']")).ToHaveCountAsync(1);
        await Expect(p.Page.Locator("#checkpoints tbody tr")).Not.ToHaveCountAsync(0);
        await Expect(p.Page.Locator("#events")).ToContainTextAsync("training loss");
        await p.ScreenshotAsync("fine-tuning-job");

        string model = (await p.Page.Locator("#job-chat").GetAttributeAsync("href"))!;
        await p.Page.Locator("#job-chat").ClickAsync();
        await Expect(p.Page.Locator("#chat-model-0")).ToHaveValueAsync(Uri.UnescapeDataString(model[(model.IndexOf('=') + 1)..]));
        await SetSampling(p.Page, "0", "16");
        await p.Page.Locator("#chat-input").FillAsync("Q: What is the name of Lily's dog? A:");
        await p.Page.Locator("#chat-input").PressAsync("Enter");
        await Expect(p.Page.Locator(".msg.assistant .stats")).ToContainTextAsync("tokens");
        Assert.NotEqual("", await p.Page.Locator(".msg.assistant .text").TextContentAsync());

        await p.Page.GotoAsync("/#/fine-tuning");
        await Expect(p.Page.Locator("#jobs tbody")).ToContainTextAsync("succeeded");
        await p.ScreenshotAsync("fine-tuning");
        p.AssertNoErrors();
    }

    [Fact]
    public async Task TheDashboardsCountersMoveWithTraffic()
    {
        await using var p = await Open("#/dashboard");
        var generated = p.Page.Locator("#stat-generated");
        await Expect(generated).Not.ToHaveTextAsync("—");
        string before = (await generated.TextContentAsync())!;
        var response = await F.Http.PostAsJsonAsync("/v1/completions", new { model = ServerFixture.ModelId, prompt = "Once upon a time", max_tokens = 20, temperature = 0 });
        response.EnsureSuccessStatusCode();
        await Expect(generated).Not.ToHaveTextAsync(before);
        await Expect(p.Page.Locator("#stat-ttft")).Not.ToHaveTextAsync("— / —");
        // Charts gain a point a second; two make a line.
        await Expect(p.Page.Locator("polyline[data-series='running']")).ToHaveAttributeAsync("data-points", new System.Text.RegularExpressions.Regex("^([3-9]|[1-9][0-9]+)$"));
        await p.ScreenshotAsync("dashboard");
        p.AssertNoErrors();
    }

    [Fact]
    public async Task EveryPageFitsAPhoneWidthScreen()
    {
        foreach (string hash in new[] { "#/chat", "#/adapters", "#/fine-tuning", "#/dashboard" })
        {
            await using var p = await Open(hash, width: 390);
            await Expect(p.Page.Locator("main h1, main .chat").First).ToBeAttachedAsync();
            int width = await p.Page.EvaluateAsync<int>("document.documentElement.scrollWidth");
            Assert.True(width <= 390, $"{hash} is {width} px wide at a 390 px viewport");
            if (hash == "#/chat") await p.ScreenshotAsync("chat-390");
            p.AssertNoErrors();
        }
    }
}
