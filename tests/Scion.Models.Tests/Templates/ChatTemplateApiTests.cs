using System.Text.Json.Nodes;
using Scion.Models.Tokenization.Templates;

namespace Scion.Models.Tests.Templates;

/// <summary>The public surface: parse errors with lines, .NET value conversion, RenderChat, the clock.</summary>
public class ChatTemplateApiTests
{
    [Fact]
    public void SyntaxErrorNamesTheLine()
    {
        var e = Assert.Throws<TemplateSyntaxException>(() => ChatTemplate.Parse("line one\n{% if x %}\nok\n{% endfor %}\n"));
        Assert.Equal(4, e.Line);
        Assert.Contains("line 4", e.Message);
        Assert.IsAssignableFrom<TemplateException>(e);
    }

    [Fact]
    public void UnclosedStringAndBadCharacterAreSyntaxErrors()
    {
        Assert.Equal(2, Assert.Throws<TemplateSyntaxException>(() => ChatTemplate.Parse("a\n{{ 'open }}")).Line);
        Assert.Equal(3, Assert.Throws<TemplateSyntaxException>(() => ChatTemplate.Parse("\n\n{{ a $ b }}")).Line);
        Assert.Throws<TemplateSyntaxException>(() => ChatTemplate.Parse("{# never closed"));
        Assert.Throws<TemplateSyntaxException>(() => ChatTemplate.Parse("{{ x | nosuchfilter }}"));
        Assert.Throws<TemplateSyntaxException>(() => ChatTemplate.Parse("{{ x is nosuchtest }}"));
    }

    [Fact]
    public void RaiseExceptionCarriesTheMessageExactly()
    {
        var t = ChatTemplate.Parse("{{ raise_exception('Roles must alternate!') }}");
        var e = Assert.Throws<TemplateException>(() => t.Render(new Dictionary<string, object?>()));
        Assert.Equal("Roles must alternate!", e.Message);
    }

    [Fact]
    public void DotNetValuesAreConvertedToThePythonModel()
    {
        var t = ChatTemplate.Parse("{{ i }} {{ f }} {{ d }} {{ arr }} {{ names | join('+') }} {{ map.k }} {{ n }} {{ b }}");
        var vars = new Dictionary<string, object?>
        {
            ["i"] = 3,
            ["f"] = 0.5f,
            ["d"] = 2.0,
            ["arr"] = new object?[] { 1L, "x", null },
            ["names"] = new List<string> { "a", "b" },
            ["map"] = new Dictionary<string, object?> { ["k"] = true },
            ["n"] = null,
            ["b"] = false,
        };
        Assert.Equal("3 0.5 2.0 [1, 'x', None] a+b True None False", t.Render(vars));
    }

    [Fact]
    public void JsonVariablesKeepIntegersAndKeyOrder()
    {
        var t = ChatTemplate.Parse("{{ a }} {{ b }} {{ o | tojson }} {{ o }}");
        var vars = JsonNode.Parse("""{"a": 10, "b": 1.0, "o": {"z": 1, "a": [true, null, 2.5]}}""")!.AsObject();
        Assert.Equal("""10 1.0 {"z": 1, "a": [true, null, 2.5]} {'z': 1, 'a': [True, None, 2.5]}""", t.Render(vars));
    }

    [Fact]
    public void RenderChatWithTuplesAndJsonObjects()
    {
        var t = ChatTemplate.Parse(
            "{{ bos_token }}{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}{{ extra_var | default('') }}");
        Assert.Equal("<s><user>hi<assistant>", t.RenderChat([("user", "hi")], true, "<s>", "</s>"));
        var messages = new[] { new JsonObject { ["role"] = "user", ["content"] = "a" }, new JsonObject { ["role"] = "assistant", ["content"] = "b" } };
        Assert.Equal("<s><user>a<assistant>b!", t.RenderChat(messages, false, "<s>", "</s>", new Dictionary<string, object?> { ["extra_var"] = "!" }));
    }

    [Fact]
    public void StrftimeNowUsesTheInjectedClock()
    {
        var t = ChatTemplate.Parse("{{ strftime_now('%d %b %Y') }}");
        t.Clock = () => new DateTime(2026, 1, 15);
        Assert.Equal("15 Jan 2026", t.Render(new Dictionary<string, object?>()));
        t.Clock = () => new DateTime(2024, 7, 4);
        Assert.Equal("04 Jul 2024", t.Render(new Dictionary<string, object?>()));
    }

    [Fact]
    public void ListAppendMutatesTheList()
    {
        // transformers' sandbox forbids this, but templates written for other engines use it.
        var t = ChatTemplate.Parse("{% set xs = [] %}{% for m in ms %}{% set _ = xs.append(m | upper) %}{% endfor %}{{ xs | join(',') }}");
        Assert.Equal("A,B", t.Render(new Dictionary<string, object?> { ["ms"] = new List<object?> { "a", "b" } }));
    }

    [Fact]
    public void TemplateIsReusableAndRendersAreIndependent()
    {
        var t = ChatTemplate.Parse("{% set ns = namespace(n=0) %}{% for x in xs %}{% set ns.n = ns.n + x %}{% endfor %}{{ ns.n }}");
        var vars = new Dictionary<string, object?> { ["xs"] = new List<object?> { 1L, 2L } };
        Assert.Equal("3", t.Render(vars));
        Assert.Equal("3", t.Render(vars));
    }

    [Fact]
    public void ChainedAttributeOnUndefinedRaisesButSingleLevelPrintsEmpty()
    {
        var t = ChatTemplate.Parse("[{{ m.missing }}]");
        Assert.Equal("[]", t.Render(new Dictionary<string, object?> { ["m"] = new Dictionary<string, object?>() }));
        var chained = ChatTemplate.Parse("{{ m.missing.deeper }}");
        Assert.Throws<TemplateException>(() => chained.Render(new Dictionary<string, object?> { ["m"] = new Dictionary<string, object?>() }));
    }

    [Fact]
    public void WhitespaceControlByHand()
    {
        // trim_blocks removes the newline after "%}", lstrip_blocks the indent before "{%"; "{{ }}" keeps both.
        var t = ChatTemplate.Parse("<a>\n  {% for x in xs %}\n  {{ x }}\n  {% endfor %}\n</a>\n");
        Assert.Equal("<a>\n  1\n  2\n</a>", t.Render(new Dictionary<string, object?> { ["xs"] = new List<object?> { 1L, 2L } }));
        Assert.Equal("a|b", ChatTemplate.Parse("a  {{- '|' -}}\n\n b").Render(new Dictionary<string, object?>()));
        Assert.Equal("  x", ChatTemplate.Parse("  {%+ if true %}x{% endif %}").Render(new Dictionary<string, object?>()));
    }
}
