using System.Text;

namespace Scion.Models.Tokenization;

/// <summary>
/// GPT-2's reversible byte ↔ printable-char table: bytes that are printable Latin-1 map to themselves, the other 68
/// map to U+0100 upwards in byte order. Byte-level BPE vocabularies are written in these chars.
/// </summary>
internal static class ByteLevelMapping
{
    public static readonly char[] ByteToChar = Build();
    private static readonly Dictionary<char, byte> CharToByteMap = ByteToChar.Select((c, b) => (c, b)).ToDictionary(p => p.c, p => (byte)p.b);

    private static char[] Build()
    {
        var map = new char[256];
        int next = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is (>= 0x21 and <= 0x7E) or (>= 0xA1 and <= 0xAC) or (>= 0xAE and <= 0xFF);
            map[b] = printable ? (char)b : (char)(256 + next++);
        }
        return map;
    }

    public static bool TryCharToByte(char c, out byte b) => CharToByteMap.TryGetValue(c, out b);

    /// <summary>UTF-8 bytes of <paramref name="text"/>, each written as its byte-level char.</summary>
    public static string Encode(ReadOnlySpan<char> text)
    {
        int byteCount = Encoding.UTF8.GetByteCount(text);
        Span<byte> bytes = byteCount <= 512 ? stackalloc byte[byteCount] : new byte[byteCount];
        Encoding.UTF8.GetBytes(text, bytes);
        return string.Create(byteCount, bytes.ToArray(), static (dst, src) =>
        {
            for (int i = 0; i < src.Length; i++) dst[i] = ByteToChar[src[i]];
        });
    }
}
