using System.Text.Encodings.Web;
using System.Text.Json;

namespace Scion.Cli.Commands;

internal static class JsonOutput
{
    /// <summary>Compact, and non-ASCII text kept readable rather than \u-escaped.</summary>
    public static readonly JsonSerializerOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}
