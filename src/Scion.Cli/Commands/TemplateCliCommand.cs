using System.CommandLine;
using System.Globalization;
using Scion.Cli.CommandLine;
using Scion.Models.Loading;
using Scion.Models.Tokenization.Templates;

namespace Scion.Cli.Commands;

/// <summary>
/// `scion template (--template FILE | --model PATH) [--date YYYY-MM-DD]`: renders a chat template for each JSON line
/// on stdin, <c>{"messages": [...], "add_generation_prompt": true, "bos_token": "&lt;s&gt;", "eos_token": "&lt;/s&gt;", ...}</c>
/// (other keys such as tools become template variables), writing {"text"} or {"error"} per line.
/// </summary>
internal static class TemplateCliCommand
{
    public static Command Build()
    {
        var template = Opt.Text("--template", "chat template file (Jinja2)", "FILE");
        var model = Opt.Text("--model", "use this model's own chat template (default when --template is absent: the bundled model)", "PATH", "-m");
        var date = Opt.Text("--date", "pin strftime_now to this date (default: today, local time)", "YYYY-MM-DD");
        var command = new Command("template",
            "render a chat template for JSON lines on stdin ({\"messages\": [...], \"add_generation_prompt\": true, \"bos_token\": ..., \"eos_token\": ...}) " +
            "into {\"text\": ...} or {\"error\": ...} lines on stdout");
        command.With(template, model, date);
        command.Validators.Add(r =>
        {
            if (r.GetResult(template) is not null && r.GetResult(model) is not null) r.AddError("give --template or --model, not both.");
        });
        return command.WithHandler((p, io, _) =>
        {
            Func<DateTime>? clock = null;
            if (p.GetValue(date) is { } d)
            {
                if (!DateTime.TryParseExact(d, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var pinned))
                    throw new UsageException($"--date expects YYYY-MM-DD, got '{d}'.");
                clock = () => pinned;
            }
            if (p.GetValue(template) is { } file)
            {
                PathChecks.ExistingFile(file, "--template", "chat template");
                return TemplateCommand.Run(File.ReadAllText(file), file, io.In, io.Out, clock);
            }
            string path = PathChecks.ExistingModel(BundledModel.Resolve(p.GetValue(model), io));
            // Only the tokenizer metadata is read: the template travels with it.
            string source = ModelLoader.IsGguf(path)
                ? LoadGgufTemplate(path)
                : ModelLoader.Load(path).ChatTemplate ?? throw new ArgumentException($"{path}: the model has no chat template; pass --template FILE.");
            return TemplateCommand.Run(source, $"{path} (chat template)", io.In, io.Out, clock);
        });
    }

    private static string LoadGgufTemplate(string path)
    {
        using var gguf = Scion.Models.Formats.GgufFile.Open(path);
        return gguf.Metadata.GetString("tokenizer.chat_template")
               ?? throw new ArgumentException($"{path}: the model has no chat template (tokenizer.chat_template); pass --template FILE.");
    }
}
