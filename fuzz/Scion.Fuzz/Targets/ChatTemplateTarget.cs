using System.Text;
using System.Text.Json.Nodes;
using Scion.Models.Tokenization.Templates;

namespace Scion.Fuzz.Targets;

/// <summary>
/// An untrusted chat template (a GGUF's tokenizer.chat_template, a tokenizer_config.json, `--chat-template`):
/// parsed, then rendered over a conversation with tools, with and without the generation prompt.
/// </summary>
public sealed class ChatTemplateTarget : FuzzTarget
{
    public override string Name => "chat-template";

    public override string Covers =>
        "ChatTemplate.Parse (lexer, whitespace control, raw blocks, statement and expression grammar) and RenderChat " +
        "(every statement, filter, test, method and global; the interpreter's step, depth and output limits).";

    private static readonly JsonObject[] Plain = [Message("system", "Be brief."), Message("user", "Hello"), Message("assistant", "Hi!"), Message("user", "Bye")];

    private static readonly JsonObject[] WithTools =
    [
        Message("system", "You are terse."),
        Message("user", "Hi <|im_end|> there\n  {{ not a tag }}"),
        new JsonObject
        {
            ["role"] = "assistant", ["content"] = null,
            ["tool_calls"] = new JsonArray(new JsonObject
            {
                ["id"] = "call_1", ["type"] = "function",
                ["function"] = new JsonObject { ["name"] = "get_weather", ["arguments"] = new JsonObject { ["city"] = "Oslo", ["days"] = 3 } },
            }),
        },
        new JsonObject { ["role"] = "tool", ["tool_call_id"] = "call_1", ["content"] = "{\"temp\": -2.5}" },
        Message("assistant", "Cold: -2.5 °C 🙂"),
        Message("user", "Thanks!"),
    ];

    private static readonly Dictionary<string, object?> Extra = new()
    {
        ["tools"] = JsonNode.Parse("""
            [{"type": "function", "function": {"name": "get_weather", "description": "Weather by city",
              "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}, "required": ["city"]}}}]
            """),
        ["date_string"] = "15 Jan 2026",
    };

    private static JsonObject Message(string role, string content) => new() { ["role"] = role, ["content"] = content };

    public override void Run(byte[] input)
    {
        var template = ChatTemplate.Parse(Encoding.UTF8.GetString(input));
        template.Clock = () => new DateTime(2026, 1, 15, 12, 0, 0, DateTimeKind.Utc);
        // Plain messages first: templates that cannot print a tool call (content null) still render them.
        foreach (var conversation in new[] { Plain, WithTools })
            foreach (bool prompt in new[] { true, false })
                _ = template.RenderChat(conversation.Select(m => (JsonObject)m.DeepClone()), prompt, "<s>", "</s>", Extra);
    }

    public override IEnumerable<(string, byte[])> Seeds()
    {
        yield return ("chatml.jinja", Encoding.UTF8.GetBytes(Scion.Models.Generation.ChatSession.FallbackTemplate));
        yield return ("headers-tools.jinja", Encoding.UTF8.GetBytes("""
            {{- bos_token }}
            {%- if tools is not none %}
                {%- set ns = namespace(names=[]) %}
                {%- for t in tools %}{%- set ns.names = ns.names + [t.function.name] %}{%- endfor %}
            <|tools|>{{ tools | tojson(indent=2) }} ({{ ns.names | join(", ") }})
            {%- endif %}
            {%- for message in messages %}
                {%- if message.role == "assistant" and message.tool_calls is defined and message.tool_calls %}
                    {%- for call in message.tool_calls %}
            <|call|>{{ call.function.name }}({{ call.function.arguments | tojson }})
                    {%- endfor %}
                {%- else %}
            <|{{ message['role'] }}|>{{ message['content'] | trim }}{{ eos_token if loop.last and message.role == 'assistant' }}
                {%- endif %}
            {%- endfor %}
            {%- if add_generation_prompt %}<|assistant|>{% endif %}
            """));
        yield return ("macros-filters.jinja", Encoding.UTF8.GetBytes("""
            {%- macro render(m, prefix='> ') -%}
            {{ prefix }}{{ m.role | upper }}: {{ (m.content or '') | replace('\n', ' ') if m.content is string else (m.content or '')[:40] }}
            {%- endmacro -%}
            {%- set sys = messages | selectattr('role', 'equalto', 'system') | list -%}
            {%- if sys %}[{{ sys[0].content | length }}] {% endif -%}
            {%- for m in messages | rejectattr('role', 'equalto', 'system') if m.content is string -%}
            {{ render(m) }}{{ '\n' if not loop.last }}{{ loop.index0 ~ '/' ~ loop.length }}
            {%- endfor -%}
            {%- set d = {'a': 1, 'b': [1, 2.5, none, true]} -%}
            {{ d | dictsort | map('first') | join }} {{ d.items() | list | length }} {{ "%s-%d" % ('x', 3) }} {{ range(3) | sum }}
            {{ strftime_now('%Y-%m-%d') }} {{ 7 // 2 }} {{ 2 ** 10 }} {{ 'abc'.split('b') }} {{ [3, 1, 2] | sort | reverse | list }}
            {%- if messages[0].role != 'system' %}{{ raise_exception('first must be system') }}{% endif -%}
            """));
        yield return ("raw-call-filter.jinja", Encoding.UTF8.GetBytes("""
            {% raw %}{{ literal }}{% endraw %}
            {%- macro wrap() %}[{{ caller() }}]{% endmacro %}
            {%- call wrap() %}{% for m in messages %}{% if loop.first %}{% continue %}{% endif %}{{ m.role[0] }}{% if loop.index > 3 %}{% break %}{% endif %}{% endfor %}{% endcall %}
            {%- filter upper %}{{ messages | length }} items{% endfilter %}
            {%- set block %}{{ messages[0].content | center(20) }}{% endset %}{{ block | wordcount }}
            {# a comment #}{{ messages | map(attribute='role') | unique | list | tojson }}
            """));
    }
}
