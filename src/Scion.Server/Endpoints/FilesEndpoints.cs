using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Scion.Server.FineTuning;
using Scion.Server.Http;

namespace Scion.Server.Endpoints;

/// <summary>OpenAI's Files API for fine-tuning data: POST /v1/files (multipart: file, purpose=fine-tune), GET /v1/files,
/// GET /v1/files/{id}, GET /v1/files/{id}/content, DELETE /v1/files/{id}.</summary>
internal static class FilesEndpoints
{
    public static async Task Upload(HttpContext context, ServerState state)
    {
        var service = FineTuningEndpoints.Service(state);
        // Uploads may be far larger than API bodies: this endpoint has its own limit.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size) size.MaxRequestBodySize = state.Options.MaxUploadBytes;
        if (!context.Request.HasFormContentType)
            throw new ApiError(400, "POST /v1/files takes multipart/form-data with a 'file' part and purpose=fine-tune.", "file", "invalid_request");
        IFormCollection form;
        try
        {
            form = await context.Request.ReadFormAsync(new FormOptions { MultipartBodyLengthLimit = state.Options.MaxUploadBytes }, context.RequestAborted);
        }
        catch (InvalidDataException e)
        {
            throw new ApiError(413, $"The upload is larger than this server accepts ({state.Options.MaxUploadBytes} bytes) or malformed: {e.Message}", "file", "file_too_large");
        }
        string purpose = form["purpose"].ToString();
        if (purpose.Length == 0) throw ApiError.BadField("purpose", "purpose: required (\"fine-tune\").");
        var file = form.Files.GetFile("file") ?? throw ApiError.BadField("file", "file: required (a multipart part named 'file').");
        await using var content = file.OpenReadStream();
        var stored = await service.UploadAsync(content, file.FileName, purpose, context.RequestAborted);
        await ModelsEndpoints.WriteJson(context, Json.Write(w => FineTuningJson.File(w, stored)));
    }

    public static async Task List(HttpContext context, ServerState state)
    {
        var service = FineTuningEndpoints.Service(state);
        string? purpose = context.Request.Query["purpose"] is { Count: > 0 } p ? p.ToString() : null;
        await ModelsEndpoints.WriteJson(context, FineTuningJson.List(service.ListFiles(purpose), FineTuningJson.File, false));
    }

    public static async Task Get(HttpContext context, ServerState state, string id)
    {
        var file = FineTuningEndpoints.Service(state).GetFile(id);
        await ModelsEndpoints.WriteJson(context, Json.Write(w => FineTuningJson.File(w, file)));
    }

    public static async Task Content(HttpContext context, ServerState state, string id)
    {
        string path = FineTuningEndpoints.Service(state).FileContentPath(id);
        context.Response.ContentType = "application/octet-stream";
        await context.Response.SendFileAsync(path, context.RequestAborted);
    }

    public static async Task Delete(HttpContext context, ServerState state, string id)
    {
        FineTuningEndpoints.Service(state).DeleteFile(id);
        await ModelsEndpoints.WriteJson(context, Json.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("id", id);
            w.WriteString("object", "file");
            w.WriteBoolean("deleted", true);
            w.WriteEndObject();
        }));
    }
}
