namespace Scion.Models.Tokenization.Templates;

/// <summary>
/// An error raised while rendering a chat template: <c>raise_exception(msg)</c> (the message is exactly
/// <c>msg</c>, as transformers reports it), use of an undefined value, or a Python-style type error.
/// </summary>
public class TemplateException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>A template that does not parse; <see cref="Line"/> is the 1-based source line of the problem.</summary>
public sealed class TemplateSyntaxException(string message, int line)
    : TemplateException($"{message} (template line {line})")
{
    public int Line { get; } = line;
}
