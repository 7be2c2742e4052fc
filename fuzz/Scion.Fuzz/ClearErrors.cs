using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Scion.Models.Formats;
using Scion.Models.Tokenization.Templates;
using Scion.Server.Http;
using Scion.Serving.Adapters;

namespace Scion.Fuzz;

/// <summary>
/// Tells the refusals the parsers are meant to give bad input (the "clear errors" the CLI prints as one line and the
/// server as a 400) from everything else, which is a finding: a crash of ours, or a .NET failure that leaks through.
/// </summary>
/// <remarks>
/// A clear error is one of the documented types AND thrown by Scion's own code. The second half matters: an
/// ArgumentOutOfRangeException from List's indexer, a FormatException from int.Parse or an InvalidOperationException
/// from JsonElement.GetString are the same types our code throws on purpose, but they are bugs (an unchecked index,
/// a raw parse, an unchecked JSON kind) whose message names no file or field. Inner exceptions are checked too,
/// because some boundaries wrap whatever they catch (ChatTemplate.Render turns any exception into a
/// TemplateException): a wrapped NullReferenceException is still a bug. The causes a clear error may wrap are the
/// .NET parsers' own refusals (JSON, UTF-8, regex), which are what the wrapper reports.
/// </remarks>
public static class ClearErrors
{
    private static readonly Type[] ClearTypes =
    [
        typeof(ModelFormatException), typeof(InvalidDataException), typeof(FormatException), typeof(ArgumentException),
        typeof(TemplateException), typeof(ApiError), typeof(AdapterException), typeof(NotSupportedException),
        typeof(InvalidOperationException), typeof(IOException),
    ];

    // What a clear error may carry as its cause: a .NET parser's refusal of the bytes, which the wrapper names.
    private static readonly Type[] ParserCauses =
    [
        typeof(JsonException), typeof(DecoderFallbackException), typeof(RegexMatchTimeoutException), typeof(RegexParseException),
    ];

    /// <summary>Whether <paramref name="e"/> is an intended refusal of bad input, not a finding.</summary>
    public static bool IsClear(Exception e) => Explain(e) is null;

    /// <summary>Null for a clear error; otherwise why it is a finding.</summary>
    public static string? Explain(Exception e)
    {
        if (!IsClearType(e)) return $"{e.GetType().Name} is not one of the clear-error types";
        if (!ThrownByScion(e)) return $"{e.GetType().Name} was thrown by .NET ({Thrower(e)}), not by a check of ours";
        for (var cause = e.InnerException; cause is not null; cause = cause.InnerException)
        {
            if (ParserCauses.Any(t => t.IsInstanceOfType(cause))) return null;
            if (!IsClearType(cause) || !ThrownByScion(cause))
                return $"{e.GetType().Name} wraps {cause.GetType().Name} ({Thrower(cause)}): {cause.Message}";
        }
        return null;
    }

    private static bool IsClearType(Exception e) =>
        e is not (OutOfMemoryException or InsufficientExecutionStackException or OperationCanceledException or KeyNotFoundException
            or ObjectDisposedException)
        && ClearTypes.Any(t => t.IsInstanceOfType(e));

    /// <summary>
    /// The first frame that is not the exception type's own throw helper (ArgumentOutOfRangeException.ThrowIfNegative
    /// and the like, which our checks call) must be in a Scion assembly.
    /// </summary>
    private static bool ThrownByScion(Exception e) => FirstRealFrame(e)?.DeclaringType?.Assembly is { } a && IsScion(a);

    private static MethodBase? FirstRealFrame(Exception e)
    {
        foreach (var frame in new StackTrace(e, false).GetFrames())
        {
            var method = frame.GetMethod();
            if (method?.DeclaringType is not { } type) continue;
            if (typeof(Exception).IsAssignableFrom(type) && !IsScion(type.Assembly)) continue; // ArgumentNullException.ThrowIfNull ...
            return method;
        }
        return null;
    }

    private static bool IsScion(Assembly a) => a.GetName().Name?.StartsWith("Scion.", StringComparison.Ordinal) == true;

    private static string Thrower(Exception e) =>
        FirstRealFrame(e) is { } m ? $"{m.DeclaringType?.FullName}.{m.Name}" : "no stack";
}
