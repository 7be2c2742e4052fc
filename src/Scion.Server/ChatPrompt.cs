using System.Text.Json.Nodes;
using Scion.Models.Tokenization.Templates;

namespace Scion.Server;

/// <summary>Messages to prompt tokens with the model's own chat template: what /v1/chat/completions and
/// <see cref="ScionChatClient"/> share, so the HTTP server and in-process callers see the same prompt.</summary>
internal static class ChatPrompt
{
    /// <param name="messages">Objects with a string role and string (or absent) content, as the template reads them.</param>
    /// <param name="tools">OpenAI's tools list passed to the template, or null.</param>
    /// <exception cref="ArgumentException">"messages: ..." when the template fails or the prompt leaves no room in the context.</exception>
    /// <param name="forGeneration">false for /tokenize: no room in the context is required.</param>
    public static int[] Render(ModelHost host, IReadOnlyList<JsonObject> messages, JsonNode? tools, bool addGenerationPrompt = true, bool forGeneration = true)
    {
        var tk = host.Tokenizer;
        string bos = tk.BosId >= 0 ? tk.TokenText(tk.BosId) : "", eos = tk.EosId >= 0 ? tk.TokenText(tk.EosId) : "";
        // The variables transformers' apply_chat_template passes; tools and documents are None when absent.
        var variables = new JsonObject
        {
            ["messages"] = new JsonArray([.. messages]),
            ["tools"] = tools?.DeepClone(),
            ["documents"] = null,
            ["add_generation_prompt"] = addGenerationPrompt,
            ["bos_token"] = bos,
            ["eos_token"] = eos,
        };
        string text;
        try
        {
            text = host.Template.Render(variables);
        }
        catch (TemplateException e)
        {
            throw new ArgumentException($"messages: the chat template failed on them: {e.Message}", e);
        }
        var ids = tk.Encode(text, addSpecial: false, parseSpecial: true);
        // Templates usually print BOS themselves; add the id only when the tokenizer wants one and it is absent.
        if (tk.AddBos && tk.BosId >= 0 && (ids.Length == 0 || ids[0] != tk.BosId)) ids = [tk.BosId, .. ids];
        if (forGeneration && ids.Length >= host.ContextLength)
            throw new ArgumentException($"messages: the rendered conversation is {ids.Length} tokens; the model's context is {host.ContextLength}.");
        return ids;
    }
}
