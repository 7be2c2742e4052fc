using System.Text;
using System.Text.Json.Nodes;

namespace Scion.Models.Tokenization.Templates;

/// <summary>
/// A parsed Jinja2 chat template that renders byte-identically to Jinja2 3.1 as Hugging Face transformers
/// configures it: trim_blocks and lstrip_blocks on, one trailing newline of the source dropped, autoescape off,
/// <c>tojson</c> as json.dumps(ensure_ascii=False), plus <c>raise_exception</c> and <c>strftime_now</c>.
/// Variables use the value model: string, bool, long, double, null, IList&lt;object?&gt; and
/// IReadOnlyDictionary&lt;string, object?&gt; (other numeric types, arrays and JSON nodes are converted).
/// </summary>
public sealed class ChatTemplate
{
    private readonly List<Node> _body;

    private ChatTemplate(List<Node> body) => _body = body;

    /// <summary>
    /// Variables transformers' <c>apply_chat_template</c> always passes, as None when the caller has none: templates
    /// testing <c>tools is defined</c> see them defined, and templates iterating over them fail as they do there.
    /// </summary>
    public static IReadOnlyList<string> NoneByDefault { get; } = ["tools", "documents"];

    /// <summary>What one render may do before it is stopped with a <see cref="TemplateException"/>.</summary>
    public TemplateLimits Limits { get; set; } = TemplateLimits.Default;

    /// <summary>The clock behind <c>strftime_now</c>; local time unless replaced (tests pin it).</summary>
    public Func<DateTime> Clock { get; set; } = () => DateTime.Now;

    /// <summary>Parses <paramref name="source"/>; throws <see cref="TemplateSyntaxException"/> naming the line.</summary>
    public static ChatTemplate Parse(string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        // Parsing needs no budget: the parser's work is linear in the source, and its recursion checks the stack.
        return new ChatTemplate(Parser.Parse(source));
    }

    /// <summary>Renders with the given variables; runtime problems surface as <see cref="TemplateException"/>.</summary>
    public string Render(IReadOnlyDictionary<string, object?> variables)
    {
        ArgumentNullException.ThrowIfNull(variables);
        var scope = Globals.CreateScope(new RenderContext(Clock)).Child();
        foreach (var (name, value) in variables) scope.Set(name, TemplateJson.Normalize(value));
        var output = new StringBuilder();
        var budget = new RenderBudget(Limits);
        using var active = budget.Enter();
        try
        {
            Node.ExecAll(_body, scope, output);
        }
        catch (Exception e) when (e is not TemplateException)
        {
            // Our own bugs or .NET-level failures (bad casts, overflow) still reach callers as template errors.
            throw new TemplateException($"error while rendering template: {e.Message}", e);
        }
        return output.ToString();
    }

    /// <summary>Renders with variables from a JSON object (integers stay integers, as with json.loads).</summary>
    public string Render(JsonObject variables)
    {
        ArgumentNullException.ThrowIfNull(variables);
        return Render((IReadOnlyDictionary<string, object?>)TemplateJson.FromNode(variables)!);
    }

    /// <summary>
    /// Renders a conversation the way transformers' <c>apply_chat_template</c> does: <c>messages</c>,
    /// <c>add_generation_prompt</c>, <c>bos_token</c>, <c>eos_token</c>, plus any <paramref name="extra"/> variables (e.g. tools).
    /// </summary>
    public string RenderChat(IEnumerable<JsonObject> messages, bool addGenerationPrompt, string bosToken, string eosToken,
        IReadOnlyDictionary<string, object?>? extra = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var list = new List<object?>(messages.Select(m => TemplateJson.FromNode(m)));
        return RenderChat(list, addGenerationPrompt, bosToken, eosToken, extra);
    }

    /// <summary>As <see cref="RenderChat(IEnumerable{JsonObject}, bool, string, string, IReadOnlyDictionary{string, object?}?)"/> for plain (role, content) pairs.</summary>
    public string RenderChat(IEnumerable<(string Role, string Content)> messages, bool addGenerationPrompt, string bosToken, string eosToken,
        IReadOnlyDictionary<string, object?>? extra = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var list = new List<object?>(messages.Select(m => (object?)new Dictionary<string, object?> { ["role"] = m.Role, ["content"] = m.Content }));
        return RenderChat(list, addGenerationPrompt, bosToken, eosToken, extra);
    }

    private string RenderChat(List<object?> messages, bool addGenerationPrompt, string bosToken, string eosToken,
        IReadOnlyDictionary<string, object?>? extra)
    {
        var vars = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var key in NoneByDefault) vars[key] = null;
        if (extra is not null) foreach (var (k, v) in extra) vars[k] = v;
        vars["messages"] = messages;
        vars["add_generation_prompt"] = addGenerationPrompt;
        vars["bos_token"] = bosToken;
        vars["eos_token"] = eosToken;
        return Render(vars);
    }
}
