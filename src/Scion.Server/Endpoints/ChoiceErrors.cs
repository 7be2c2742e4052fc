using Scion.Server.Http;
using Scion.Serving.Adapters;
using Scion.Serving.Engine;

namespace Scion.Server.Endpoints;

/// <summary>A choice that ended in <see cref="FinishReason.Error"/>, as the API error the client gets.</summary>
internal static class ChoiceErrors
{
    public static ApiError From(Exception? error) => error switch
    {
        AdapterException a => new ApiError(400, a.Message, "model", "adapter_unusable"),
        Scion.Models.Sampling.NonFiniteLogitsException n => new ApiError(500, n.Message, null, "non_finite_logits"),
        ArgumentException a => ApiError.FromArgument(a),
        null => new ApiError(500, "The request failed in the engine without an error (a bug).", null, "internal_error"),
        _ => new ApiError(500, $"The engine failed: {error.Message}", null, "internal_error"),
    };

    public static void ThrowIfFailed(IEnumerable<CompletionChoice> choices)
    {
        foreach (var c in choices)
            if (c.FinishReason == FinishReason.Error) throw From(c.Error);
    }

    public static string NewId(string prefix) => prefix + Guid.NewGuid().ToString("N");
}
