using System.Collections.Frozen;
using System.Reflection;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Scion.Server.Http;

namespace Scion.Server.WebConsole;

/// <summary>
/// The web console's files (WebConsole/wwwroot, embedded in this assembly at build time: nothing to install, nothing
/// fetched from elsewhere). GET / is index.html, GET /console/{file} the rest. They need no API key (they hold no
/// data; the page asks for the key and sends it with its API calls). Each answer carries a strong ETag (a hash of
/// the bytes), so a reload revalidates cheaply and a new build is never served stale, and a Content-Security-Policy
/// that allows only this server's own scripts, styles and connections.
/// </summary>
internal static class ConsoleAssets
{
    private const string Prefix = "console/";

    private sealed record Asset(byte[] Bytes, string ContentType, string ETag);

    private static readonly FrozenDictionary<string, Asset> Assets = Load();

    /// <summary>Script, style, connections and images from this server only; no inline script, no framing.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

    private static FrozenDictionary<string, Asset> Load()
    {
        var assembly = typeof(ConsoleAssets).Assembly;
        var assets = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (string name in assembly.GetManifestResourceNames())
        {
            if (!name.StartsWith(Prefix, StringComparison.Ordinal)) continue;
            using var stream = assembly.GetManifestResourceStream(name)!;
            var bytes = new byte[stream.Length];
            stream.ReadExactly(bytes);
            string etag = "\"" + Convert.ToHexStringLower(SHA256.HashData(bytes).AsSpan(0, 12)) + "\"";
            assets[name[Prefix.Length..].Replace('\\', '/')] = new Asset(bytes, ContentTypeOf(name), etag);
        }
        return assets.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>The embedded file names (e.g. "index.html", "js/chat.js").</summary>
    public static IEnumerable<string> Names => Assets.Keys;

    /// <summary>Total bytes of everything one page load fetches (all assets: the console is one page).</summary>
    public static long TotalBytes => Assets.Values.Sum(a => (long)a.Bytes.Length);

    private static string ContentTypeOf(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        ".json" => "application/json",
        _ => "application/octet-stream",
    };

    /// <summary>True for the paths this serves without a key: "/" and "/console/...".</summary>
    public static bool IsConsolePath(PathString path) =>
        path == "/" || path.StartsWithSegments("/console", StringComparison.Ordinal);

    public static Task Serve(HttpContext context, string file)
    {
        if (!Assets.TryGetValue(file, out var asset))
            throw new ApiError(404, $"No console file '{file}'.", null, "unknown_url");
        var response = context.Response;
        response.Headers.ETag = asset.ETag;
        response.Headers.CacheControl = "no-cache";
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
        response.Headers["Referrer-Policy"] = "no-referrer";
        if (context.Request.Headers.IfNoneMatch == asset.ETag)
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return Task.CompletedTask;
        }
        response.ContentType = asset.ContentType;
        response.ContentLength = asset.Bytes.Length;
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : response.Body.WriteAsync(asset.Bytes, context.RequestAborted).AsTask();
    }
}
