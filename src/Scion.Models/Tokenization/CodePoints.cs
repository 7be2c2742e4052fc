namespace Scion.Models.Tokenization;

/// <summary>A string as code points, with the UTF-16 offset of each, so splitters can count in code points as llama.cpp does.</summary>
internal readonly struct CodePoints
{
    public readonly int[] Values;     // [n] code points
    public readonly int[] CharStart;  // [n + 1] UTF-16 offset of each code point, then the string length
    public readonly string Text;

    public CodePoints(string text)
    {
        Text = text;
        var values = new List<int>(text.Length);
        var starts = new List<int>(text.Length + 1);
        for (int i = 0; i < text.Length;)
        {
            starts.Add(i);
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                values.Add(char.ConvertToUtf32(text[i], text[i + 1]));
                i += 2;
            }
            else
            {
                values.Add(char.IsSurrogate(text[i]) ? 0xFFFD : text[i]);
                i++;
            }
        }
        starts.Add(text.Length);
        Values = values.ToArray();
        CharStart = starts.ToArray();
    }

    public int Length => Values.Length;

    public string Substring(int start, int length) => Text.Substring(CharStart[start], CharStart[start + length] - CharStart[start]);

    /// <summary>
    /// One char per code point for .NET's regex engine: BMP chars as they are, supplementary ones as a BMP char of
    /// the same category. Non-ASCII whitespace becomes \v when <paramref name="asciiWhitespace"/> is set, as llama.cpp
    /// feeds its std::regex.
    /// </summary>
    public string OneCharPerCodePoint(int start, int length, bool asciiWhitespace)
    {
        var chars = new char[length];
        for (int i = 0; i < length; i++)
        {
            int cp = Values[start + i];
            chars[i] = cp >= 0x10000 ? UnicodeClass.StandIn(cp)
                : asciiWhitespace && cp > 0x7F && UnicodeClass.IsWhitespace(cp) ? '\v'
                : (char)cp;
        }
        return new string(chars);
    }
}

/// <summary>A piece of a <see cref="CodePoints"/> text, in code points; <see cref="IsMatch"/> tells regex matches from the gaps between them.</summary>
internal readonly record struct Piece(int Start, int Length, bool IsMatch = true);
