using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Scion.Models.Tokenization.Templates;

/// <summary>
/// <c>scion template --template FILE</c>: reads JSON lines <c>{"messages", "add_generation_prompt", "bos_token",
/// "eos_token", ...}</c> (other keys such as <c>tools</c> become template variables) and writes one JSON line per
/// input, <c>{"text": ...}</c> or <c>{"error": ...}</c>, so the output can be diffed against transformers.
/// </summary>
public static class TemplateCommand
{
    private static readonly JsonSerializerOptions Output = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Returns 0 when every line rendered, 1 when any line produced an error, 2 when the template itself is unusable.</summary>
    public static int Run(string templatePath, TextReader stdin, TextWriter stdout)
    {
        ArgumentNullException.ThrowIfNull(templatePath);
        string source;
        try
        {
            source = File.ReadAllText(templatePath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stdout.WriteLine(JsonSerializer.Serialize(new JsonObject { ["error"] = $"{templatePath}: {e.Message}" }, Output));
            return 2;
        }
        return Run(source, templatePath, stdin, stdout);
    }

    /// <summary>As <see cref="Run(string, TextReader, TextWriter)"/> for template text named <paramref name="name"/> in errors.</summary>
    /// <param name="clock">pins <c>strftime_now</c> (null: local time).</param>
    public static int Run(string source, string name, TextReader stdin, TextWriter stdout, Func<DateTime>? clock = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(stdin);
        ArgumentNullException.ThrowIfNull(stdout);
        ChatTemplate template;
        try
        {
            template = ChatTemplate.Parse(source);
        }
        catch (TemplateException e)
        {
            stdout.WriteLine(JsonSerializer.Serialize(new JsonObject { ["error"] = $"{name}: {e.Message}" }, Output));
            return 2;
        }
        if (clock is not null) template.Clock = clock;

        int rc = 0, lineNo = 0;
        for (string? line = stdin.ReadLine(); line is not null; line = stdin.ReadLine())
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            JsonObject result;
            try
            {
                var request = JsonNode.Parse(line) as JsonObject ?? throw new TemplateException("input line is not a JSON object");
                // apply_chat_template passes these as None when the caller gives none (not undefined).
                foreach (var key in ChatTemplate.NoneByDefault) request.TryAdd(key, null);
                result = new JsonObject { ["text"] = template.Render(request) };
            }
            catch (Exception e) when (e is TemplateException or JsonException)
            {
                result = new JsonObject { ["error"] = e is JsonException j ? $"input line {lineNo}: {Scion.Models.Formats.JsonLineError.Describe(line, j)}" : e.Message };
                rc = 1;
            }
            stdout.WriteLine(JsonSerializer.Serialize(result, Output));
        }
        stdout.Flush();
        return rc;
    }
}
