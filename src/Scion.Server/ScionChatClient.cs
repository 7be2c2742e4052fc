using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using Scion.Models.Sampling;
using Scion.Serving.Engine;

namespace Scion.Server;

/// <summary>
/// Microsoft.Extensions.AI's <see cref="IChatClient"/> over a <see cref="ModelHost"/>'s engine, in process: the
/// same template-rendered prompt and OpenAI defaults (temperature 1, top_p 1) as /v1/chat/completions, without HTTP.
/// <see cref="ChatOptions.ModelId"/> picks the base (its id, or null) or a registered adapter by name.
/// </summary>
public sealed class ScionChatClient : IChatClient, IAsyncDisposable
{
    public const string ProviderName = "scion";

    private readonly bool _ownsHost;

    /// <param name="defaultModelId">The model when <see cref="ChatOptions.ModelId"/> is null: the base (null) or an adapter's name.</param>
    /// <param name="ownsHost">Dispose the host with this client.</param>
    public ScionChatClient(ModelHost host, string? defaultModelId = null, bool ownsHost = false)
    {
        ArgumentNullException.ThrowIfNull(host);
        Host = host;
        ResolveAdapter(defaultModelId, nameof(defaultModelId));
        Metadata = new ChatClientMetadata(ProviderName, null, defaultModelId ?? host.Id);
        _ownsHost = ownsHost;
    }

    /// <summary>Loads a model (GGUF file or Hugging Face folder) with default engine options; the client owns it.</summary>
    public static ScionChatClient Load(string modelPath) => Load(new ModelHostSettings { ModelPath = modelPath });

    /// <summary>Loads a model with its adapters and engine options as `scion serve` would; the client owns it.</summary>
    public static ScionChatClient Load(ModelHostSettings settings)
    {
        var host = ModelHostFactory.Load(settings);
        return new ScionChatClient(host, ownsHost: true);
    }

    public ModelHost Host { get; }
    public ChatClientMetadata Metadata { get; }

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var (request, model) = Prepare(messages, options);
        var handle = Host.Engine.Submit(request, cancellationToken);
        var created = DateTimeOffset.UtcNow;
        try
        {
            var result = await handle.CollectAsync(cancellationToken);
            var choice = result.Choices[0];
            var finish = Finish(choice.FinishReason, choice.Error, cancellationToken);
            return new ChatResponse(new ChatMessage(ChatRole.Assistant, choice.Text) { MessageId = handle.Id.ToString() })
            {
                ResponseId = NewId(),
                ModelId = model,
                CreatedAt = created,
                FinishReason = finish,
                Usage = Usage(result.Usage),
                RawRepresentation = result,
            };
        }
        finally
        {
            // A no-op once finished; frees the KV at once when the caller gave up (cancellation, an exception).
            handle.Cancel();
        }
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var (request, model) = Prepare(messages, options);
        var handle = Host.Engine.Submit(request, cancellationToken);
        string id = NewId(), messageId = handle.Id.ToString();
        var created = DateTimeOffset.UtcNow;
        ChatResponseUpdate Update(IList<AIContent> contents, ChatFinishReason? finish = null) => new(ChatRole.Assistant, contents)
        {
            ResponseId = id,
            MessageId = messageId,
            ModelId = model,
            CreatedAt = created,
            FinishReason = finish,
        };
        try
        {
            // The engine never waits for its reader; a consumer that stops enumerating ends up in finally.
            await foreach (var e in handle.ReadAllAsync(cancellationToken))
            {
                switch (e)
                {
                    case TokenEvent t when t.Text.Length > 0:
                        yield return Update([new TextContent(t.Text)]);
                        break;
                    case FinishEvent f:
                        var finish = Finish(f.Reason, f.Error, cancellationToken);
                        if (f.Text.Length > 0) yield return Update([new TextContent(f.Text)]);
                        yield return Update([], finish);
                        break;
                    case UsageEvent u:
                        yield return Update([new UsageContent(Usage(u.Usage))]);
                        break;
                }
            }
        }
        finally
        {
            handle.Cancel();
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        if (serviceType == typeof(ChatClientMetadata)) return Metadata;
        if (serviceType == typeof(ModelHost)) return Host;
        if (serviceType == typeof(ServingEngine)) return Host.Engine;
        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <summary>The engine request for these messages and options, and the model id the response names.</summary>
    internal (EngineRequest Request, string Model) Prepare(IEnumerable<ChatMessage> messages, ChatOptions? options)
    {
        ArgumentNullException.ThrowIfNull(messages);
        string model = options?.ModelId ?? Metadata.DefaultModelId!;
        string? adapter = ResolveAdapter(model, "ChatOptions.ModelId");
        if (options?.ResponseFormat is ChatResponseFormatJson)
            throw new NotSupportedException("ChatOptions.ResponseFormat: JSON output is not supported yet (constrained decoding is not implemented); leave it null or Text.");
        var prompt = ChatPrompt.Render(Host, Messages(messages, options?.Instructions), Tools(options));
        float temperature = Range(options?.Temperature, 1, 0, 2, "Temperature");
        float topP = Range(options?.TopP, 1, 0, 1, "TopP", minExclusive: true);
        int topK = options?.TopK ?? 0;
        if (topK < 0) throw new ArgumentException($"ChatOptions.TopK: expected >= 0 (0: off), got {topK}.");
        int maxTokens = options?.MaxOutputTokens ?? Host.ContextLength - prompt.Length;
        if (maxTokens < 0) throw new ArgumentException($"ChatOptions.MaxOutputTokens: expected >= 0, got {maxTokens}.");
        // Unseeded requests get a fresh seed, as the server does: a fixed default would make every "random" reply the same.
        ulong seed = options?.Seed is { } s ? unchecked((ulong)s) : (ulong)Random.Shared.NextInt64();
        var sampling = new SamplingOptions
        {
            Temperature = temperature,
            TopP = topP,
            TopK = topK,
            // The server's extra sampling fields, by the same names, ride in AdditionalProperties.
            MinP = Range(Extra<float?>(options, "min_p", "a number"), 0, 0, 1, "AdditionalProperties[min_p]"),
            RepetitionPenalty = Range(Extra<float?>(options, "repetition_penalty", "a number"), 1, 0.01f, 100, "AdditionalProperties[repetition_penalty]"),
            FrequencyPenalty = Range(options?.FrequencyPenalty, 0, -2, 2, "FrequencyPenalty"),
            PresencePenalty = Range(options?.PresencePenalty, 0, -2, 2, "PresencePenalty"),
            Seed = seed,
        };
        var request = new EngineRequest
        {
            PromptTokens = prompt,
            Adapter = adapter,
            Sampling = sampling,
            Seed = seed,
            Stop = options?.StopSequences is { } stop ? [.. stop] : [],
            MaxTokens = maxTokens,
            IgnoreEos = Extra<bool?>(options, "ignore_eos", "true or false") ?? false,
        };
        return (request, model);
    }

    /// <summary>The base's id (or null) → null; a registered adapter → its name; anything else → a clear error.</summary>
    private string? ResolveAdapter(string? model, string what)
    {
        if (string.IsNullOrEmpty(model) || model == Host.Id) return null;
        if (Host.Adapters?.Find(model) is not null) return model;
        throw new ArgumentException($"{what}: the model '{model}' does not exist: expected '{Host.Id}'" +
            (Host.Adapters is null ? " (no adapters are registered)." : $" or a registered adapter ({Names(Host.Adapters.List())})."));
    }

    /// <summary>A few names, not thousands: an adapters folder may register that many.</summary>
    private static string Names(IReadOnlyList<Scion.Serving.Adapters.AdapterInfo> adapters) =>
        string.Join(", ", adapters.Take(5).Select(a => $"'{a.Name}'")) + (adapters.Count > 5 ? $", … {adapters.Count} in all" : "");

    private static List<JsonObject> Messages(IEnumerable<ChatMessage> messages, string? instructions)
    {
        var list = new List<JsonObject>();
        // Instructions are a system message ahead of the conversation, as OpenAI's chat client sends them.
        if (!string.IsNullOrEmpty(instructions)) list.Add(new JsonObject { ["role"] = "system", ["content"] = instructions });
        int i = 0;
        foreach (var m in messages)
        {
            foreach (var c in m.Contents)
                if (c is not (TextContent or UsageContent))
                    throw new NotSupportedException($"messages[{i}]: only text content is supported, got {c.GetType().Name}.");
            list.Add(new JsonObject { ["role"] = m.Role.Value, ["content"] = m.Text });
            i++;
        }
        if (list.Count == 0) throw new ArgumentException("messages: expected at least one message, got none.");
        return list;
    }

    /// <summary>Function declarations as OpenAI's tools list, for templates that describe tools (calls are not parsed yet).</summary>
    private static JsonArray? Tools(ChatOptions? options)
    {
        if (options?.Tools is not { Count: > 0 } tools) return null;
        var list = new JsonArray();
        foreach (var tool in tools.OfType<AIFunctionDeclaration>())
            list.Add(new JsonObject
            {
                ["type"] = "function",
                ["function"] = new JsonObject
                {
                    ["name"] = tool.Name,
                    ["description"] = tool.Description,
                    ["parameters"] = JsonNode.Parse(tool.JsonSchema.GetRawText()),
                },
            });
        return list.Count > 0 ? list : null;
    }

    /// <summary>AdditionalProperties[key] as T (a JSON element or a convertible value), or null when absent.</summary>
    private static T? Extra<T>(ChatOptions? options, string key, string expected)
    {
        if (options?.AdditionalProperties is not { } extra || !extra.TryGetValue(key, out object? raw) || raw is null) return default;
        if (extra.TryGetValue(key, out T? value)) return value;
        throw new ArgumentException($"ChatOptions.AdditionalProperties[{key}]: expected {expected}, got {raw.GetType().Name} '{raw}'.");
    }

    private static float Range(float? value, float fallback, float min, float max, string name, bool minExclusive = false)
    {
        float v = value ?? fallback;
        if (!(minExclusive ? v > min : v >= min) || !(v <= max))
            throw new ArgumentException(FormattableString.Invariant($"ChatOptions.{name}: expected a number in {(minExclusive ? "(" : "[")}{min}, {max}], got {v}."));
        return v;
    }

    private static ChatFinishReason Finish(FinishReason reason, Exception? error, CancellationToken cancel) => reason switch
    {
        FinishReason.Stop => ChatFinishReason.Stop,
        FinishReason.Length => ChatFinishReason.Length,
        FinishReason.Cancelled => throw new OperationCanceledException("The request was cancelled.", cancel),
        _ => throw error ?? new InvalidOperationException("The request failed in the engine without an error (a bug)."),
    };

    private static UsageDetails Usage(RequestUsage u) => new()
    {
        InputTokenCount = u.PromptTokens,
        OutputTokenCount = u.CompletionTokens,
        TotalTokenCount = u.PromptTokens + u.CompletionTokens,
        CachedInputTokenCount = u.CachedTokens,
    };

    private static string NewId() => "chatcmpl-" + Guid.NewGuid().ToString("N");

    public void Dispose()
    {
        if (_ownsHost) Host.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    public async ValueTask DisposeAsync()
    {
        if (_ownsHost) await Host.DisposeAsync();
    }
}
