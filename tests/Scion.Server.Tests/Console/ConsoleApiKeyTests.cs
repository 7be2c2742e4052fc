using static Microsoft.Playwright.Assertions;

namespace Scion.Server.Tests.Console;

/// <summary>The console against a server with an API key: the page itself loads without one, asks for the key on the
/// first 401, says so when a key is refused, and works once the right key is given.</summary>
public sealed class ConsoleApiKeyTests
{
    [Fact]
    public async Task TheConsoleAsksForTheKeyOnceAndSaysWhenItIsRefused()
    {
        Browser.RequireChromium();
        SetDefaultExpectTimeout(60_000);
        await using var server = await ServerFixture.StartAsync(new ServerOptions { ApiKeys = ["console-test-key"] });
        await using var browser = await Browser.LaunchAsync();
        await using var p = await browser.OpenAsync(server.Url);
        await p.Page.GotoAsync("/#/chat");
        var dialog = p.Page.Locator("#key-dialog");
        await Expect(dialog).ToBeVisibleAsync();
        await Expect(p.Page.Locator("#key-message")).ToContainTextAsync("needs an API key (401");
        await p.ScreenshotAsync("api-key", fullPage: false);

        await p.Page.Locator("#key-input").FillAsync("wrong-key");
        await p.Page.Locator("#key-input").PressAsync("Enter");
        await Expect(p.Page.Locator("#key-message")).ToContainTextAsync("refused this API key");
        await p.Page.Locator("#key-input").FillAsync("console-test-key");
        await p.Page.GetByRole(Microsoft.Playwright.AriaRole.Button, new() { Name = "Use key" }).ClickAsync();
        await Expect(dialog).ToBeHiddenAsync();
        await Expect(p.Page.Locator("#chat-model-0")).ToHaveValueAsync(ServerFixture.ModelId);
        await Expect(p.Page.Locator("#server-model")).ToContainTextAsync(ServerFixture.ModelId);
        // Kept for the session: another page needs no second prompt.
        await p.Page.GotoAsync("/#/dashboard");
        await Expect(p.Page.Locator("#stat-running")).Not.ToHaveTextAsync("—");
        await Expect(dialog).ToBeHiddenAsync();
        p.AssertNoErrors();
    }
}
