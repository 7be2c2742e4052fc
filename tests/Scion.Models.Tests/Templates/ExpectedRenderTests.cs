using System.Text.Json.Nodes;
using Scion.Models.Tokenization.Templates;
using Scion.Testing;

namespace Scion.Models.Tests.Templates;

/// <summary>Real instruct-model chat templates against Jinja2 3.1 + transformers output in shared/chat-templates.</summary>
public class ExpectedRenderTests
{
    internal static readonly DateTime FixedNow = new(2026, 1, 15, 12, 0, 0);

    [Fact]
    public void EveryExpectedLineRendersByteIdentically()
    {
        string path = SharedData.Path("chat-templates", "expected.jsonl");
        var templates = new Dictionary<string, ChatTemplate>();
        int checkedLines = 0;
        foreach (var line in File.ReadLines(path))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            var c = JsonNode.Parse(line)!.AsObject();
            string name = (string)c["template"]!;
            if (!templates.TryGetValue(name, out var template))
            {
                template = ChatTemplate.Parse(File.ReadAllText(SharedData.Path("chat-templates", name + ".jinja")));
                template.Clock = () => FixedNow;
                templates[name] = template;
            }
            var vars = new JsonObject();
            foreach (var (k, v) in c)
                if (k is not ("template" or "case" or "expected" or "error")) vars[k] = v?.DeepClone();
            string label = $"{name} case {c["case"]}";
            if (c["error"] is not null)
            {
                var e = Assert.ThrowsAny<TemplateException>(() => template.Render(vars));
                Assert.False(string.IsNullOrEmpty(e.Message), label);
            }
            else
            {
                string expected = (string)c["expected"]!;
                string actual = template.Render(vars);
                Assert.True(expected == actual, $"{label}\nexpected: {JsonValue.Create(expected).ToJsonString()}\nactual:   {JsonValue.Create(actual).ToJsonString()}");
            }
            checkedLines++;
        }
        Assert.True(checkedLines > 0, "expected.jsonl holds no cases");
    }
}
