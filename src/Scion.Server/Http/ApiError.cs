using System.Text.Json;

namespace Scion.Server.Http;

/// <summary>An error the client gets as OpenAI's object <c>{"error": {"message", "type", "param", "code"}}</c>.</summary>
public sealed class ApiError(int status, string message, string? param = null, string? code = null) : Exception(message)
{
    public int Status { get; } = status;
    public string? Param { get; } = param;
    public string? Code { get; } = code;

    /// <summary>OpenAI's type strings by status.</summary>
    public string Type => Status switch
    {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "invalid_request_error",
        429 => "rate_limit_error",
        >= 500 => "server_error",
        _ => "invalid_request_error",
    };

    public static ApiError BadField(string field, string message) => new(400, message, field, "invalid_value");

    /// <summary>The engine's argument errors start with the field they are about ("max_tokens: ..."): keep it as param.</summary>
    public static ApiError FromArgument(ArgumentException e)
    {
        string message = e.Message;
        int colon = message.IndexOf(':');
        string? field = colon > 0 && message[..colon].All(c => char.IsAsciiLetterLower(c) || c == '_') ? message[..colon] : null;
        return new ApiError(400, message, field, "invalid_value");
    }

    public byte[] ToJson()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, Endpoints.Json.Options))
        {
            w.WriteStartObject();
            w.WriteStartObject("error");
            w.WriteString("message", Message);
            w.WriteString("type", Type);
            if (Param is null) w.WriteNull("param"); else w.WriteString("param", Param);
            if (Code is null) w.WriteNull("code"); else w.WriteString("code", Code);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }
}
