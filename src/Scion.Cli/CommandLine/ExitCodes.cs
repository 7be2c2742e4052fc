namespace Scion.Cli.CommandLine;

/// <summary>The exit codes the README documents.</summary>
public static class ExitCodes
{
    public const int Success = 0;
    /// <summary>Bad input (files, data) or a failure while running.</summary>
    public const int Failure = 1;
    /// <summary>Bad usage: unknown option, missing or malformed value.</summary>
    public const int Usage = 2;
    /// <summary>Stopped by Ctrl-C (128 + SIGINT, as shells report it).</summary>
    public const int Interrupted = 130;
}

/// <summary>A usage error found after parsing (options that conflict, a value out of its domain): exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);
