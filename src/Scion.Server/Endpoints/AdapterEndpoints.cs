using Microsoft.AspNetCore.Http;
using Scion.Server.Http;
using Scion.Server.Requests;
using Scion.Serving.Adapters;

namespace Scion.Server.Endpoints;

/// <summary>
/// vLLM's runtime adapter calls: POST /v1/load_lora_adapter {lora_name, lora_path} and POST /v1/unload_lora_adapter
/// {lora_name}. A path is accepted only inside --adapters-dir after resolving "..", and every symbolic link on the
/// way; anything else is refused before a single file under it is read. A load reads the adapter at once, so a
/// missing file or a shape that does not fit the base fails the call, not a later request.
/// </summary>
internal static class AdapterEndpoints
{
    public static async Task Load(HttpContext context, ServerState state)
    {
        var host = state.RequireHost();
        var f = await JsonFields.ReadAsync(context.Request, context.RequestAborted);
        string name = f.String("lora_name") ?? throw ApiError.BadField("lora_name", "lora_name: required (the model name requests will use).");
        string path = f.String("lora_path") ?? throw ApiError.BadField("lora_path", "lora_path: required (an adapter folder inside the server's adapters folder).");
        if (AdapterStore.NameProblem(name) is { } problem) throw ApiError.BadField("lora_name", $"lora_name: {problem}.");
        if (name == host.Id) throw ApiError.BadField("lora_name", $"lora_name: '{name}' is the base model's id.");
        if (state.Options.AdaptersDir is not { } root || host.Adapters is not { } store)
            throw new ApiError(403, "Runtime adapter loads are disabled: start the server with --adapters-dir DIR to allow loads from inside DIR.", "lora_path", "adapter_loading_disabled");
        string folder = ConfinedPath(root, path);
        if (store.Find(name) is not null) throw ApiError.BadField("lora_name", $"lora_name: the adapter '{name}' is already loaded (unload it first).");
        try
        {
            store.RegisterFolder(name, folder); // already confined above, links resolved
            // Read now: a broken or mis-shaped adapter fails this call with the loader's message.
            using var lease = await store.AcquireAsync(name, context.RequestAborted);
        }
        catch (AdapterException e)
        {
            store.Unregister(name);
            throw ApiError.BadField("lora_path", $"lora_path: {e.Message}");
        }
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync($"Success: LoRA adapter '{name}' added successfully.", context.RequestAborted);
    }

    public static async Task Unload(HttpContext context, ServerState state)
    {
        var host = state.RequireHost();
        var f = await JsonFields.ReadAsync(context.Request, context.RequestAborted);
        string name = f.String("lora_name") ?? throw ApiError.BadField("lora_name", "lora_name: required.");
        if (host.Adapters?.Unregister(name) != true)
            throw new ApiError(404, $"The adapter '{name}' is not loaded.", "lora_name", "model_not_found");
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync($"Success: LoRA adapter '{name}' removed successfully.", context.RequestAborted);
    }

    /// <summary>
    /// <paramref name="path"/> (relative paths against <paramref name="root"/>) with "..", "." and every symbolic link
    /// resolved, checked to lie strictly inside the root's own resolved path; 403 otherwise.
    /// </summary>
    internal static string ConfinedPath(string root, string path)
    {
        string realRoot = RealPath(Path.GetFullPath(root));
        string candidate = Path.GetFullPath(Path.IsPathRooted(path) ? path : Path.Combine(root, path));
        string real = RealPath(candidate);
        if (!real.StartsWith(realRoot + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new ApiError(403, $"lora_path '{path}' is outside the adapters folder; only folders inside it may be loaded.", "lora_path", "path_not_allowed");
        return real;
    }

    /// <summary>The path with every existing component's symbolic link followed (targets resolved the same way), like
    /// realpath(3). ".." is removed lexically first (Path.GetFullPath), so the path checked is the path read.</summary>
    private static string RealPath(string full, int depth = 0)
    {
        if (depth > 40) throw new ApiError(400, $"lora_path: too many levels of symbolic links at {full}.", "lora_path", "invalid_value");
        string current = Path.GetPathRoot(full)!;
        foreach (string part in full[current.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            string next = Path.Combine(current, part);
            FileSystemInfo info = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
            if (info.LinkTarget is { } target)
                next = RealPath(Path.GetFullPath(Path.IsPathRooted(target) ? target : Path.Combine(current, target)), depth + 1);
            current = next;
        }
        return Path.TrimEndingDirectorySeparator(current);
    }
}
