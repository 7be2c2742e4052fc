using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Scion.Models.Tokenization.Templates;

namespace Scion.Models.Tests.Templates;

/// <summary>
/// Small templates, one feature each, whose expected output was produced by Jinja2 3.1 itself in
/// transformers' configuration (see tools/gen_conformance.py); where Jinja2 raises we must throw.
/// </summary>
public partial class JinjaConformanceTests
{
    public static IEnumerable<object[]> CaseNames() => Cases.Select(c => new object[] { c.Name });

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void RendersLikeJinja2(string name)
    {
        var c = Cases.Single(x => x.Name == name);
        var vars = JsonNode.Parse(c.Variables)!.AsObject();
        if (c.Expected is null)
        {
            var e = Assert.ThrowsAny<TemplateException>(() =>
            {
                var t = ChatTemplate.Parse(c.Template);
                t.Clock = () => ExpectedRenderTests.FixedNow;
                t.Render(vars);
            });
            Assert.False(string.IsNullOrEmpty(e.Message));
            return;
        }
        var template = ChatTemplate.Parse(c.Template);
        template.Clock = () => ExpectedRenderTests.FixedNow;
        string actual = template.Render(vars);
        Assert.True(c.Expected == actual,
            $"template: {Quote(c.Template)}\nexpected: {Quote(c.Expected)}\nactual:   {Quote(actual)}");
    }

    private static readonly JsonSerializerOptions Readable = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    internal static string Quote(string s) => JsonSerializer.Serialize(s, Readable);

    [Fact]
    public void CaseNamesAreUnique() =>
        Assert.Equal(Cases.Length, Cases.Select(c => c.Name).Distinct().Count());
}
