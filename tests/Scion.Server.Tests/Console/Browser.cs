using Microsoft.Playwright;

namespace Scion.Server.Tests.Console;

/// <summary>
/// Headless Chromium from the system (Debian's chromium package; .ci/run installs it), driven by Playwright for .NET.
/// Playwright's own browser download is never used: this machine has no network. Without a chromium the browser tests
/// skip, unless SCION_REQUIRE_BROWSER=1 (CI) turns that into a failure.
/// </summary>
public sealed class Browser : IAsyncDisposable
{
    private readonly IPlaywright _playwright;

    private Browser(IPlaywright playwright, IBrowser browser)
    {
        _playwright = playwright;
        Chromium = browser;
    }

    public IBrowser Chromium { get; }

    /// <summary>Where the console's screenshots go: SCION_UI_SCREENSHOTS (docs/ui when regenerating them), else a temp folder.</summary>
    public static string ScreenshotDir { get; } = Environment.GetEnvironmentVariable("SCION_UI_SCREENSHOTS") is { Length: > 0 } d
        ? d : Path.Combine(Path.GetTempPath(), "scion-ui-screenshots");

    public static string? FindChromium()
    {
        // SCION_CHROMIUM names the browser; set to a path that does not exist, it means "none" (to try the skip).
        if (Environment.GetEnvironmentVariable("SCION_CHROMIUM") is { Length: > 0 } given) return File.Exists(given) ? given : null;
        string[] known = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium", "/snap/bin/chromium"];
        return known.FirstOrDefault(File.Exists);
    }

    /// <summary>Skips (or, under SCION_REQUIRE_BROWSER=1, fails) when no chromium is installed.</summary>
    public static string RequireChromium()
    {
        if (FindChromium() is { } path) return path;
        const string why = "no chromium found (install Debian's 'chromium' package, or set SCION_CHROMIUM to its path)";
        if (Environment.GetEnvironmentVariable("SCION_REQUIRE_BROWSER") == "1") Assert.Fail($"browser tests must run here: {why}");
        Assert.Skip($"browser tests skipped: {why}");
        throw new InvalidOperationException("unreachable: Assert.Skip throws");
    }

    public static async Task<Browser> LaunchAsync()
    {
        string path = RequireChromium();
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = path,
            Headless = true,
            // As root in a container chromium needs --no-sandbox; the rest keep it off the (closed) network.
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
        });
        return new Browser(playwright, browser);
    }

    /// <summary>A fresh context (its own localStorage and sessionStorage) and page at <paramref name="width"/> px, with every
    /// script error and console error collected in <see cref="ConsolePage.Errors"/>.</summary>
    public async Task<ConsolePage> OpenAsync(string baseUrl, int width = 1280, int height = 900)
    {
        var context = await Chromium.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = baseUrl,
            ViewportSize = new ViewportSize { Width = width, Height = height },
        });
        context.SetDefaultTimeout(60_000);
        var page = await context.NewPageAsync();
        var result = new ConsolePage(context, page);
        page.PageError += (_, e) => result.Errors.Add("page error: " + e);
        // "Failed to load resource: ... 4xx" is the browser reporting an API error the page shows on purpose, not a bug.
        page.Console += (_, m) =>
        {
            if (m.Type == "error" && !m.Text.StartsWith("Failed to load resource", StringComparison.Ordinal)) result.Errors.Add("console error: " + m.Text);
        };
        return result;
    }

    public async ValueTask DisposeAsync()
    {
        await Chromium.DisposeAsync();
        _playwright.Dispose();
    }
}

/// <summary>One browser context and its page.</summary>
public sealed class ConsolePage(IBrowserContext context, IPage page) : IAsyncDisposable
{
    public IBrowserContext Context { get; } = context;
    public IPage Page { get; } = page;
    public List<string> Errors { get; } = [];

    /// <summary>Saves a full-page screenshot as NAME.png in <see cref="Browser.ScreenshotDir"/>.</summary>
    public async Task ScreenshotAsync(string name, bool fullPage = true)
    {
        Directory.CreateDirectory(Browser.ScreenshotDir);
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Browser.ScreenshotDir, name + ".png"), FullPage = fullPage });
    }

    /// <summary>Fails with every uncaught script error and console.error the page had.</summary>
    public void AssertNoErrors() => Assert.True(Errors.Count == 0, "the console had errors:\n" + string.Join("\n", Errors));

    public async ValueTask DisposeAsync() => await Context.DisposeAsync();
}
