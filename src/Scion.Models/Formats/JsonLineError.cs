using System.Text;
using System.Text.Json;

namespace Scion.Models.Formats;

/// <summary>
/// Says what is wrong with one line of a JSON-lines file in the user's terms (what was expected, what was found,
/// at which column) instead of System.Text.Json's parser message with its zero-based "LineNumber | BytePositionInLine".
/// </summary>
public static class JsonLineError
{
    private const int SnippetChars = 24;

    /// <summary>The reason a line that should hold <paramref name="expected"/> (e.g. "a JSON object") failed to parse.</summary>
    public static string Describe(string line, JsonException error, string expected = "a JSON object")
    {
        string trimmed = line.TrimStart();
        if (trimmed.Length > 0 && trimmed[0] is not ('{' or '[' or '"'))
            return $"expected {expected}, found {Quote(trimmed)}";
        int column = CharColumn(line, error.BytePositionInLine);
        if (column >= line.TrimEnd().Length)
            return $"expected {expected}, found a line that ends before the JSON value is complete (an unclosed object, array or string)";
        return $"expected {expected}, found invalid JSON at column {column + 1}: {Quote(line[column..])}";
    }

    /// <summary>What a JSON value is, for "found ..." messages.</summary>
    public static string Kind(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };

    private static string Quote(string text)
    {
        string shown = text.Length > SnippetChars ? text[..SnippetChars] + "..." : text;
        return "`" + shown + "`";
    }

    /// <summary>The parser counts UTF-8 bytes; the user sees characters.</summary>
    private static int CharColumn(string line, long? bytePosition)
    {
        if (bytePosition is not long bytes || bytes <= 0) return 0;
        byte[] utf8 = Encoding.UTF8.GetBytes(line);
        return bytes >= utf8.Length ? line.Length : Encoding.UTF8.GetCharCount(utf8, 0, (int)bytes);
    }
}
