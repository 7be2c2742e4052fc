using System.Text.Json.Nodes;
using Scion.Models.Tokenization.Templates;

namespace Scion.Models.Tests.Templates;

public sealed class TemplateCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("scion-template-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string WriteTemplate(string source)
    {
        string path = Path.Combine(_dir, "t.jinja");
        File.WriteAllText(path, source);
        return path;
    }

    [Fact]
    public void WritesOneJsonLinePerInputWithTextOrError()
    {
        string path = WriteTemplate(
            "{{ bos_token }}{% for m in messages %}{% if m.role == 'bad' %}{{ raise_exception('bad role') }}{% endif %}[{{ m.role }}] {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}[assistant] {% endif %}{{ tools | length if tools else '' }}");
        var input = new StringReader(string.Join("\n",
            """{"messages": [{"role": "user", "content": "héllo \"q\" <b>"}], "add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>"}""",
            "",
            """{"messages": [{"role": "bad", "content": "x"}], "add_generation_prompt": false, "bos_token": "", "eos_token": ""}""",
            """{"messages": [], "add_generation_prompt": false, "bos_token": "", "eos_token": "", "tools": [{"a": 1}, {"b": 2}]}""",
            "not json"));
        var output = new StringWriter();
        // tools is None when absent (as transformers passes it), so the template tests truthiness, not definedness.
        int rc = TemplateCommand.Run(path, input, output);
        Assert.Equal(1, rc);
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        Assert.Equal("<s>[user] héllo \"q\" <b>\n[assistant] ", (string)JsonNode.Parse(lines[0])!["text"]!);
        Assert.Contains("héllo", lines[0]); // relaxed escaping keeps the text readable
        Assert.Contains("<b>", lines[0]);
        Assert.Equal("bad role", (string)JsonNode.Parse(lines[1])!["error"]!);
        Assert.Equal("2", (string)JsonNode.Parse(lines[2])!["text"]!);
        Assert.NotNull(JsonNode.Parse(lines[3])!["error"]);
    }

    [Fact]
    public void AllLinesRenderingReturnsZero()
    {
        string path = WriteTemplate("{{ messages[0].content }}\n");
        var output = new StringWriter();
        int rc = TemplateCommand.Run(path, new StringReader("""{"messages": [{"role": "user", "content": "x"}]}"""), output);
        Assert.Equal(0, rc);
        Assert.Equal("""{"text":"x"}""", output.ToString().Trim());
    }

    [Fact]
    public void BrokenTemplateReportsItsLine()
    {
        string path = WriteTemplate("ok\n{% if %}");
        var output = new StringWriter();
        Assert.Equal(2, TemplateCommand.Run(path, new StringReader(""), output));
        var error = (string)JsonNode.Parse(output.ToString())!["error"]!;
        Assert.Contains("line 2", error);
    }
}
