using System.CommandLine;
using System.CommandLine.Invocation;
using System.Reflection;

namespace Scion.Cli.CommandLine;

/// <summary>`scion --version`: the version and the git commit the binary was built from (embedded at build time).</summary>
public sealed class VersionAction : SynchronousCommandLineAction
{
    public static string Version =>
        typeof(VersionAction).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    public static string Commit =>
        typeof(VersionAction).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "GitCommit")?.Value is { Length: > 0 } c
            ? c : "unknown";

    public override int Invoke(ParseResult parseResult)
    {
        parseResult.InvocationConfiguration.Output.WriteLine($"scion {Version} (commit {Commit})");
        return ExitCodes.Success;
    }
}
