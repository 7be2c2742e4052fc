using Scion.Cli.CommandLine;
using Scion.Models.Tokenization.Templates;

namespace Scion.Cli.Commands;

/// <summary>`scion template --template FILE`: JSON lines of messages on stdin → {"text"} or {"error"} per line.</summary>
internal static class TemplateCliCommand
{
    public static int Run(string[] args, CliIo io)
    {
        var a = CliArguments.Parse("template", args, ["template"], []);
        string path = a.Require("template");
        if (!File.Exists(path)) throw new FileNotFoundException($"Template file '{path}' does not exist.", path);
        return TemplateCommand.Run(path, io.In, io.Out);
    }
}
