namespace Scion.Cli.Commands;

internal static class Text
{
    /// <summary>A literal backslash-n in a prompt line means a newline.</summary>
    public static string Unescape(string line) => line.Replace("\\n", "\n", StringComparison.Ordinal);
}
