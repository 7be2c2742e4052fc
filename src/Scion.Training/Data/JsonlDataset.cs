using System.Text.Json;
using System.Text.Json.Nodes;
using Scion.Models.Formats;
using Scion.Models.Tokenization;
using Scion.Models.Tokenization.Templates;

namespace Scion.Training.Data;

/// <summary>
/// Reads a JSONL training file. Each non-empty line is one object in one of three forms:
/// <list type="bullet">
/// <item><c>{"text": ...}</c>: language modelling on every token (BOS as the tokenizer adds it, EOS appended);</item>
/// <item><c>{"prompt": ..., "completion": ...}</c>: loss on the completion (and EOS) only;</item>
/// <item><c>{"messages": [{"role", "content"}, ...]}</c>: rendered with the model's chat template, loss on assistant turns only.</item>
/// </list>
/// A malformed line is an error naming file and line; examples left with no target token are skipped and counted;
/// a file with no usable example is refused.
/// </summary>
public sealed class JsonlDataset
{
    public required string Path { get; init; }
    public required IReadOnlyList<TrainingExample> Examples { get; init; }
    /// <summary>Examples cut to the maximum sequence length (their tokens past it are not trained on or scored).</summary>
    public int Truncated { get; init; }
    /// <summary>The maximum sequence length the examples were cut to.</summary>
    public int MaxTokens { get; init; }
    /// <summary>The longest example's token count before cutting: above <see cref="MaxTokens"/> when some were cut.</summary>
    public int LongestTokens { get; init; }
    /// <summary>Examples dropped because no target token was left.</summary>
    public int Skipped { get; init; }
    public long TargetTokens => Examples.Sum(e => (long)e.TargetCount);
    public long Tokens => Examples.Sum(e => (long)e.Length);

    public static JsonlDataset Load(string path, Tokenizer tokenizer, string? chatTemplate, int maxTokens)
    {
        PathKind.RequireFile(path, "JSONL data file");
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTokens, 2);
        var examples = new List<TrainingExample>();
        int truncated = 0, skipped = 0, lineNo = 0, longest = 0;
        ChatTemplate? template = null;
        foreach (var line in File.ReadLines(path))
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            string where = $"{path}:{lineNo}";
            JsonNode? node;
            try
            {
                // Checked as a document first: a repeated key or a lone surrogate escape parses, and only fails (without
                // file or line) once JsonNode builds its dictionary or a string is read.
                using (var doc = JsonDocument.Parse(line))
                    if (JsonTextCheck.Problem(doc.RootElement) is { } problem) throw new InvalidDataException($"{where}: {problem}.");
                node = JsonNode.Parse(line);
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{where}: {JsonLineError.Describe(line, e, Expected)}", e);
            }
            if (node is not JsonObject obj)
                throw new InvalidDataException($"{where}: expected {Expected}, found {JsonLineError.Kind(node?.GetValueKind() ?? JsonValueKind.Null)}.");
            (int[] tokens, bool[] mask) = obj switch
            {
                _ when obj.ContainsKey("messages") => Messages(obj, where, tokenizer, template ??= ParseTemplate(chatTemplate, where)),
                _ when obj.ContainsKey("prompt") || obj.ContainsKey("completion") => PromptCompletion(obj, where, tokenizer),
                _ when obj.ContainsKey("text") => Text(obj, where, tokenizer),
                _ => throw new InvalidDataException($"{where}: expected a \"text\", \"prompt\"/\"completion\" or \"messages\" field; found {Describe(obj)}."),
            };
            if (tokens.Length > maxTokens) truncated++;
            longest = Math.Max(longest, tokens.Length);
            var example = TrainingExample.FromMask(tokens, mask, lineNo, maxTokens);
            if (example.TargetCount == 0)
            {
                skipped++;
                continue;
            }
            examples.Add(example);
        }
        if (examples.Count == 0)
            throw new InvalidDataException($"{path}: no usable example ({lineNo} lines, {skipped} examples without any target token within {maxTokens} tokens).");
        return new JsonlDataset { Path = path, Examples = examples, Truncated = truncated, Skipped = skipped, MaxTokens = maxTokens, LongestTokens = longest };
    }

    private const string Expected = "a JSON object with \"text\", \"prompt\"/\"completion\" or \"messages\"";

    private static string Describe(JsonObject obj) => obj.Count == 0 ? "an empty object" : "fields " + string.Join(", ", obj.Select(p => $"\"{p.Key}\""));

    private static string RequireString(JsonObject obj, string field, string where) =>
        obj[field] is JsonValue v && v.TryGetValue<string>(out var s)
            ? s
            : throw new InvalidDataException($"{where}: field \"{field}\" must be a string, found {(obj.ContainsKey(field) ? JsonLineError.Kind(obj[field]?.GetValueKind() ?? JsonValueKind.Null) : "no such field")}.");

    private static int[] WithEos(int[] tokens, Tokenizer tokenizer) =>
        tokenizer.AddEos || tokenizer.EosId < 0 ? tokens : [.. tokens, tokenizer.EosId];

    private static (int[], bool[]) Text(JsonObject obj, string where, Tokenizer tokenizer)
    {
        var tokens = WithEos(tokenizer.Encode(RequireString(obj, "text", where)), tokenizer);
        return (tokens, Enumerable.Repeat(true, tokens.Length).ToArray());
    }

    private static (int[], bool[]) PromptCompletion(JsonObject obj, string where, Tokenizer tokenizer)
    {
        string prompt = RequireString(obj, "prompt", where), completion = RequireString(obj, "completion", where);
        // Tokenize the whole text once (as it will be seen) and find where the prompt's tokens end in it.
        var tokens = WithEos(tokenizer.Encode(prompt + completion), tokenizer);
        int start = CommonPrefix(tokenizer.Encode(prompt), tokens);
        var mask = new bool[tokens.Length];
        for (int i = start; i < mask.Length; i++) mask[i] = true;
        return (tokens, mask);
    }

    private static ChatTemplate ParseTemplate(string? source, string where)
    {
        if (source is null) throw new InvalidDataException($"{where}: a \"messages\" example needs a chat template, but the model has none.");
        try
        {
            return ChatTemplate.Parse(source);
        }
        catch (TemplateException e)
        {
            throw new InvalidDataException($"{where}: the model's chat template does not parse: {e.Message}", e);
        }
    }

    /// <summary>
    /// Renders the conversation, then for every assistant turn i renders messages[..i] with the generation prompt
    /// and messages[..i+1] without: the tokens between the two prefixes are that turn's (transformers' approach).
    /// </summary>
    private static (int[], bool[]) Messages(JsonObject obj, string where, Tokenizer tokenizer, ChatTemplate template)
    {
        if (obj["messages"] is not JsonArray array || array.Count == 0)
            throw new InvalidDataException($"{where}: field \"messages\" must be a non-empty array.");
        var messages = new List<JsonObject>();
        for (int i = 0; i < array.Count; i++)
        {
            if (array[i] is not JsonObject m) throw new InvalidDataException($"{where}: messages[{i}] must be an object.");
            RequireString(m, "role", $"{where}: messages[{i}]");
            if (m["content"] is null) throw new InvalidDataException($"{where}: messages[{i}] has no \"content\".");
            messages.Add(m);
        }
        string bos = tokenizer.BosId >= 0 ? tokenizer.TokenText(tokenizer.BosId) : "";
        string eos = tokenizer.EosId >= 0 ? tokenizer.TokenText(tokenizer.EosId) : "";
        string Render(int count, bool generationPrompt)
        {
            try
            {
                return template.RenderChat(messages.Take(count).Select(m => (JsonObject)m.DeepClone()), generationPrompt, bos, eos);
            }
            catch (TemplateException e)
            {
                throw new InvalidDataException($"{where}: chat template error: {e.Message}", e);
            }
        }
        int[] Encode(string text) => tokenizer.Encode(text, addSpecial: bos.Length == 0 || !text.StartsWith(bos, StringComparison.Ordinal), parseSpecial: true);

        var tokens = Encode(Render(messages.Count, false));
        var mask = new bool[tokens.Length];
        for (int i = 0; i < messages.Count; i++)
        {
            if (RequireString(messages[i], "role", where) != "assistant") continue;
            var before = Encode(Render(i, true));
            var upTo = Encode(Render(i + 1, false));
            int start = CommonPrefix(before, tokens), end = CommonPrefix(upTo, tokens);
            if (start != before.Length || end != upTo.Length)
                throw new InvalidDataException($"{where}: the chat template does not render message {i} as a prefix of the whole conversation; cannot locate the assistant turn.");
            for (int t = start; t < end; t++) mask[t] = true;
        }
        return (tokens, mask);
    }

    private static int CommonPrefix(int[] a, int[] b)
    {
        int n = 0;
        while (n < a.Length && n < b.Length && a[n] == b[n]) n++;
        return n;
    }
}
