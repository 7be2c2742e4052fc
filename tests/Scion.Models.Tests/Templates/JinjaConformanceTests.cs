using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Scion.Models.Tokenization.Templates;
using Scion.Testing;

namespace Scion.Models.Tests.Templates;

/// <summary>
/// Templates whose expected output was produced by Jinja2 3.1 itself in transformers' configuration
/// (tools/gen_conformance.py): small ones exercising one feature each, realistic chat templates, and the
/// real templates of shared/chat-templates on tool-calling paths. Where Jinja2 raises we must throw, and
/// for raise_exception with the same message.
/// </summary>
public partial class JinjaConformanceTests
{
    public static IEnumerable<object[]> CaseNames() => Cases.Select(c => new object[] { c.Name });

    public static IEnumerable<object[]> SharedCaseNames() => SharedCases.Select(c => new object[] { c.Name });

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void RendersLikeJinja2(string name)
    {
        var c = Cases.Single(x => x.Name == name);
        Check(c.Template, c.Variables, c.Expected, c.Error);
    }

    [Theory]
    [MemberData(nameof(SharedCaseNames))]
    public void SharedTemplateRendersLikeJinja2(string name)
    {
        var c = SharedCases.Single(x => x.Name == name);
        string source = File.ReadAllText(SharedData.Path("chat-templates", c.Template + ".jinja"));
        Check(source, c.Variables, c.Expected, c.Error);
    }

    private static void Check(string source, string variables, string? expected, string? error)
    {
        var vars = JsonNode.Parse(variables)!.AsObject();
        string Render()
        {
            var t = ChatTemplate.Parse(source);
            t.Clock = () => ExpectedRenderTests.FixedNow;
            return t.Render(vars);
        }
        if (expected is null)
        {
            var e = Assert.ThrowsAny<TemplateException>(Render);
            const string raised = "TemplateError: ";
            if (error!.StartsWith(raised, StringComparison.Ordinal)) Assert.Equal(error[raised.Length..], e.Message);
            else Assert.False(string.IsNullOrEmpty(e.Message));
            return;
        }
        string actual = Render();
        Assert.True(expected == actual,
            $"template: {Quote(source)}\nexpected: {Quote(expected)}\nactual:   {Quote(actual)}");
    }

    private static readonly JsonSerializerOptions Readable = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    internal static string Quote(string s) => JsonSerializer.Serialize(s, Readable);

    [Fact]
    public void CaseNamesAreUnique()
    {
        Assert.Equal(Cases.Length, Cases.Select(c => c.Name).Distinct().Count());
        Assert.Equal(SharedCases.Length, SharedCases.Select(c => c.Name).Distinct().Count());
    }
}
