using Scion.Models.Tokenization;

namespace Scion.Models.Loading;

internal static class HfTokenizerBridge
{
    public static Tokenizer Load(string folder) => throw new Formats.ModelFormatException($"{folder}: tokenizer.json support is not merged yet.");
}
