using System.Text.Json.Nodes;
using Scion.Models.Tokenization.Templates;

namespace Scion.Models.Tests.Templates;

/// <summary>
/// transformers' apply_chat_template renders with tools=None and documents=None when the caller gives none: a
/// template testing `is defined` sees them, `is none` holds, and iterating over them fails (Jinja2: 'NoneType' object
/// is not iterable). Before, they were undefined here, so such templates silently rendered differently.
/// </summary>
public class ToolsAndDocumentsTests
{
    private static readonly (string, string)[] Hi = [("user", "hi")];

    [Fact]
    public void AbsentToolsAndDocumentsAreDefinedAsNone()
    {
        var t = ChatTemplate.Parse("{{ tools is defined }} {{ tools is none }} {{ documents is defined }} {{ documents is none }}");
        Assert.Equal("True True True True", t.RenderChat(Hi, false, "<s>", "</s>"));
    }

    [Fact]
    public void IteratingAbsentToolsFailsAsInTransformers()
    {
        var t = ChatTemplate.Parse("{% for tool in tools %}{{ tool.name }}{% endfor %}");
        Assert.Throws<TemplateException>(() => t.RenderChat(Hi, false, "<s>", "</s>"));
    }

    [Fact]
    public void GivenToolsAreUsed()
    {
        var t = ChatTemplate.Parse("{% for tool in tools %}{{ tool.name }};{% endfor %}{{ documents is none }}");
        var tools = new List<object?> { new Dictionary<string, object?> { ["name"] = "search" } };
        Assert.Equal("search;True", t.RenderChat(Hi, false, "<s>", "</s>", new Dictionary<string, object?> { ["tools"] = tools }));
    }

    [Fact]
    public void TemplateCommandPassesNoneAndHonoursAPinnedClock()
    {
        var input = new StringReader(new JsonObject { ["messages"] = new JsonArray() }.ToJsonString() + "\n");
        var output = new StringWriter();
        int rc = TemplateCommand.Run("{{ tools is none }} {{ strftime_now('%Y-%m-%d') }}", "inline", input, output, () => new DateTime(2024, 7, 26));
        Assert.Equal(0, rc);
        Assert.Equal("True 2024-07-26", JsonNode.Parse(output.ToString())!["text"]!.GetValue<string>());
    }
}
