namespace Scion.Cli.Tests;

/// <summary>Runs the `scion` command in-process with captured streams.</summary>
internal static class CliRunner
{
    public sealed record Result(int ExitCode, string Out, string Err);

    public static Result RunWithInput(string stdin, params string[] args)
    {
        var o = new StringWriter { NewLine = "\n" };
        var e = new StringWriter { NewLine = "\n" };
        int code = CliApp.Run(args, new StringReader(stdin), o, e);
        return new Result(code, o.ToString(), e.ToString());
    }

    public static Result Run(params string[] args) => RunWithInput("", args);
}
