using System.Globalization;

namespace Scion.Models.Tokenization;

/// <summary>
/// The few code point classes the pre-tokenizers ask about (regex \p{L}, \p{N}, \s), with a table for the BMP
/// because the splitters ask once per code point.
/// </summary>
internal static class UnicodeClass
{
    public const byte Letter = 1, Number = 2, Whitespace = 4;

    private static readonly byte[] Bmp = BuildBmp();

    public static byte Of(int codePoint) => codePoint < 0x10000 ? Bmp[codePoint] : Compute(codePoint);

    public static bool IsLetter(int cp) => (Of(cp) & Letter) != 0;
    public static bool IsNumber(int cp) => (Of(cp) & Number) != 0;
    public static bool IsWhitespace(int cp) => (Of(cp) & Whitespace) != 0;

    /// <summary>The Unicode White_Space property, which is what llama.cpp's tables and regex \s use.</summary>
    public static bool IsWhiteSpaceProperty(int cp) => cp is (>= 0x09 and <= 0x0D) or 0x20 or 0x85 or 0xA0 or 0x1680
        or (>= 0x2000 and <= 0x200A) or 0x2028 or 0x2029 or 0x202F or 0x205F or 0x3000;

    private static byte Compute(int cp)
    {
        byte flags = IsWhiteSpaceProperty(cp) ? Whitespace : (byte)0;
        if (cp >= 0xD800 && cp <= 0xDFFF) return flags;
        switch (CharUnicodeInfo.GetUnicodeCategory(cp))
        {
            case UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter:
                flags |= Letter; break;
            case UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber:
                flags |= Number; break;
        }
        return flags;
    }

    private static byte[] BuildBmp()
    {
        var table = new byte[0x10000];
        for (int cp = 0; cp < table.Length; cp++) table[cp] = Compute(cp);
        return table;
    }

    /// <summary>
    /// A BMP stand-in of the same general category for a supplementary code point, so .NET's UTF-16 regex engine
    /// can match one char per code point (the same trick llama.cpp uses with its "collapsed" text).
    /// </summary>
    public static char StandIn(int codePoint) => StandIns[(int)CharUnicodeInfo.GetUnicodeCategory(codePoint)];

    private static readonly char[] StandIns = BuildStandIns();

    private static char[] BuildStandIns()
    {
        var categories = Enum.GetValues<UnicodeCategory>();
        var result = new char[categories.Length];
        // Scan from the top of the BMP down: far from the ASCII and Latin ranges that regexes name explicitly.
        for (int cp = 0xFFFD; cp >= 0x80; cp--)
        {
            if (cp is >= 0xD800 and <= 0xDFFF) continue;
            if (cp is >= 0xFF00 and <= 0xFFEF) continue; // fullwidth forms appear in explicit regex ranges
            int cat = (int)CharUnicodeInfo.GetUnicodeCategory(cp);
            if (result[cat] == '\0') result[cat] = (char)cp;
        }
        for (int i = 0; i < result.Length; i++) if (result[i] == '\0') result[i] = '\uFFFD';
        return result;
    }
}
