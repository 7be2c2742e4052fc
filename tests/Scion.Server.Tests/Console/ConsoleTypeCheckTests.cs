using System.Diagnostics;
using Scion.Testing;

namespace Scion.Server.Tests.Console;

/// <summary>The console's JavaScript type-checks (JSDoc types under // @ts-check) with TypeScript's tsc from
/// tests/clients (npm ci there; .ci/run does it): the console ships with no build step, so this is where a wrong
/// property or a misspelled DOM call is caught before a browser meets it. Skips without node or the package, except in CI.</summary>
public sealed class ConsoleTypeCheckTests
{
    [Fact]
    public async Task TheConsoleScriptsTypeCheck()
    {
        string clients = Path.Combine(BundledModel.RepositoryRoot, "tests", "clients");
        string tsc = Path.Combine(clients, "node_modules", "typescript", "bin", "tsc");
        string? node = NodeClientTests.FindOnPath("node");
        if (node is null) NodeClientTests.Unavailable("console type check", "node is not on PATH");
        if (!File.Exists(tsc)) NodeClientTests.Unavailable("console type check", $"{tsc} is absent (run `npm ci` in tests/clients)");
        var start = new ProcessStartInfo(node!) { WorkingDirectory = clients, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { tsc, "-p", "console-tsconfig.json" }) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(ServerFixture.Timeout);
        Assert.True(process.ExitCode == 0, $"tsc found problems in the console's scripts:\n{await output}{await errors}");
    }
}
