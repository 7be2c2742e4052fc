using System.Text;

namespace Scion.Models.Tokenization;

/// <summary>
/// Turns ids into text one at a time, as they are generated, and never returns half a UTF-8 sequence: bytes of an
/// unfinished character wait for the next token. The concatenation of everything <see cref="Push"/> and
/// <see cref="Flush"/> return equals <see cref="Tokenizer.Decode"/> of the same ids.
/// Not thread-safe; use one per sequence.
/// </summary>
public sealed class StreamingDecoder
{
    private readonly Tokenizer _tokenizer;
    private readonly bool _skipSpecial;
    private readonly bool _stripLeadingSpace;
    private readonly Decoder _utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false).GetDecoder();
    private bool _started;
    private char[] _chars = new char[64];

    /// <param name="atSequenceStart">
    /// true when the first id pushed starts the text (the leading dummy-prefix space is dropped, as Decode does);
    /// false when continuing after a prompt, so a generated "▁word" keeps its space.
    /// </param>
    public StreamingDecoder(Tokenizer tokenizer, bool skipSpecial = false, bool atSequenceStart = true)
    {
        _tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        _skipSpecial = skipSpecial;
        _stripLeadingSpace = atSequenceStart && tokenizer.StripsLeadingSpace;
    }

    /// <summary>The text that became complete with this token (possibly empty).</summary>
    public string Push(int id)
    {
        var piece = _tokenizer.PieceSpan(id);
        if (_skipSpecial && _tokenizer.IsSpecial(id)) return "";
        if (!_started && piece.Length > 0)
        {
            _started = true;
            if (_stripLeadingSpace && piece[0] == (byte)' ') piece = piece[1..];
        }
        return Convert(piece, flush: false);
    }

    /// <summary>Whatever is still held (an unfinished character comes out as U+FFFD), and resets the UTF-8 state.</summary>
    public string Flush() => Convert([], flush: true);

    private string Convert(ReadOnlySpan<byte> bytes, bool flush)
    {
        // Even when no char completes, the bytes must go through the decoder so it holds them for the next call.
        int max = _utf8.GetCharCount(bytes, flush);
        if (_chars.Length < max) _chars = new char[Math.Max(max, _chars.Length * 2)];
        int n = _utf8.GetChars(bytes, _chars, flush);
        return n == 0 ? "" : new string(_chars, 0, n);
    }
}
