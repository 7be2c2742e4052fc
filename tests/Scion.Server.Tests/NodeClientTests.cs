using System.Diagnostics;
using Scion.Testing;

namespace Scion.Server.Tests;

/// <summary>The npm <c>openai</c> package against the real server: runs tests/clients/openai-client.mjs (installed
/// by <c>npm ci</c> in tests/clients, which .ci/run does). Without node or node_modules it skips with one line,
/// except under SCION_REQUIRE_SHARED=1 (CI), where it must run.</summary>
public sealed class NodeClientTests(SharedServer shared) : IClassFixture<SharedServer>
{
    private const string Key = "sk-scion-node-test";

    [Fact]
    public async Task The_npm_openai_client_passes_its_checks()
    {
        string clients = Path.Combine(BundledModel.RepositoryRoot, "tests", "clients");
        string? node = FindOnPath("node");
        if (node is null) Unavailable("node is not on PATH");
        if (!Directory.Exists(Path.Combine(clients, "node_modules", "openai")))
            Unavailable($"{Path.Combine(clients, "node_modules", "openai")} is absent (run `npm ci` in tests/clients)");

        await using var keyed = await ServerFixture.StartAsync(new ServerOptions { ApiKeys = [Key] });
        var f = shared.Fixture;
        var start = new ProcessStartInfo(node!)
        {
            WorkingDirectory = clients,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in new[] { Path.Combine(clients, "openai-client.mjs"), f.Url, ServerFixture.ModelId, ServerFixture.AdapterName, "--keyed", keyed.Url, Key })
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(ServerFixture.Timeout);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        string output = (await stdout) + (await stderr);
        Assert.True(process.ExitCode == 0, $"node openai-client.mjs exited {process.ExitCode}:\n{output}");
        TestContext.Current.TestOutputHelper?.WriteLine(output);
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void Unavailable(string why) => Unavailable("npm openai client test", why);

    /// <summary>Skips <paramref name="test"/> (a test needing node and tests/clients' packages) saying why, or under
    /// SCION_REQUIRE_SHARED=1 (CI, which runs npm ci) fails it.</summary>
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    internal static void Unavailable(string test, string why)
    {
        if (Environment.GetEnvironmentVariable("SCION_REQUIRE_SHARED") == "1")
            throw new InvalidOperationException($"The {test} cannot run: {why}; SCION_REQUIRE_SHARED=1 (CI) requires it.");
        string reason = $"{test} skipped: {why}";
        // Skip reasons show only at detailed verbosity: one diagnostic line says why at the default one.
        TestContext.Current.SendDiagnosticMessage(reason);
        Assert.Skip(reason);
        throw new InvalidOperationException("unreachable: Assert.Skip throws");
    }

    /// <summary>The full path of <paramref name="name"/> on PATH (also name.exe / name.cmd on Windows), or null.</summary>
    internal static string? FindOnPath(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (var candidate in OperatingSystem.IsWindows() ? new[] { name + ".exe", name + ".cmd" } : [name])
            {
                string full = Path.Combine(dir, candidate);
                if (File.Exists(full)) return full;
            }
        }
        return null;
    }
}
