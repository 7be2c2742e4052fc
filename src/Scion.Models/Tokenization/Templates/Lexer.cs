using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Scion.Models.Tokenization.Templates;

internal enum TokenKind { Data, VariableBegin, VariableEnd, BlockBegin, BlockEnd, Name, String, Integer, Float, Operator, Eof }

internal sealed record Token(TokenKind Kind, string Value, int Line, object? Literal = null)
{
    public bool Is(TokenKind kind, string value) => Kind == kind && Value == value;
    public bool IsName(string value) => Is(TokenKind.Name, value);
    public bool IsOp(string value) => Is(TokenKind.Operator, value);
    public override string ToString() => Kind switch
    {
        TokenKind.Eof => "end of template",
        TokenKind.BlockEnd => "end of statement block",
        TokenKind.VariableEnd => "end of print statement",
        _ => $"'{Value}'",
    };
}

/// <summary>
/// Splits template source into tokens with Jinja2's whitespace rules as transformers configures them:
/// <c>trim_blocks</c> (drop the first newline after a block or comment tag), <c>lstrip_blocks</c>
/// (drop spaces and tabs before a block or comment tag that starts its line), <c>-</c> / <c>+</c> markers,
/// newline normalisation to "\n", and removal of a single trailing newline of the source.
/// </summary>
internal sealed partial class Lexer
{
    private const bool TrimBlocks = true;
    private const bool LStripBlocks = true;

    private readonly string _src;
    private readonly List<int> _lineStarts = [0];
    private readonly List<Token> _tokens = [];
    private int _pos;
    private bool _lineStarting = true;

    [GeneratedRegex(@"\G\{%(-|\+|)\s*raw\s*(?:-%\}\s*|%\})")]
    private static partial Regex RawBegin();

    [GeneratedRegex(@"\{%(-|\+|)\s*endraw\s*(?:\+%\}|-%\}\s*|%\}\n?)")]
    private static partial Regex RawEnd();

    private static readonly string[] Operators =
        ["//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}", ">", "<", "=", ".", ":", "|", ",", ";"];

    private Lexer(string source)
    {
        // Jinja splits on \r\n, \r and \n, drops one trailing empty line (keep_trailing_newline=False) and joins with \n.
        string s = source.Replace("\r\n", "\n").Replace('\r', '\n');
        if (s.EndsWith('\n')) s = s[..^1];
        _src = s;
        for (int i = 0; i < s.Length; i++)
            if (s[i] == '\n') _lineStarts.Add(i + 1);
    }

    public static List<Token> Tokenize(string source)
    {
        var lexer = new Lexer(source);
        lexer.Run();
        return lexer._tokens;
    }

    private int LineAt(int pos)
    {
        int i = _lineStarts.BinarySearch(pos);
        return (i >= 0 ? i : ~i - 1) + 1;
    }

    private TemplateSyntaxException Error(string message, int pos) => new(message, LineAt(pos));

    private void Run()
    {
        while (_pos < _src.Length)
        {
            int tag = FindTagStart(_pos);
            if (tag < 0)
            {
                Emit(TokenKind.Data, _src[_pos..], _pos);
                break;
            }
            char kind = _src[tag + 1];
            char sign = tag + 2 < _src.Length && _src[tag + 2] is '-' or '+' ? _src[tag + 2] : '\0';
            var raw = kind == '%' ? RawBegin().Match(_src, tag) : null;

            string text = ApplyLeftStrip(_src[_pos..tag], sign, kind != '{');
            if (text.Length > 0) Emit(TokenKind.Data, text, _pos);

            if (raw is { Success: true })
            {
                _pos = tag + raw.Length;
                _lineStarting = raw.Value.EndsWith('\n');
                LexRaw(tag);
                continue;
            }
            _pos = tag + 2 + (sign == '\0' ? 0 : 1);
            switch (kind)
            {
                case '#': LexComment(tag); break;
                case '%': LexTag(TokenKind.BlockBegin, tag); break;
                default: LexTag(TokenKind.VariableBegin, tag); break;
            }
        }
        _tokens.Add(new Token(TokenKind.Eof, "", LineAt(_src.Length)));
    }

    private int FindTagStart(int from)
    {
        for (int i = _src.IndexOf('{', from); i >= 0 && i + 1 < _src.Length; i = _src.IndexOf('{', i + 1))
            if (_src[i + 1] is '{' or '%' or '#') return i;
        return -1;
    }

    /// <summary>Whitespace control on the data before a tag: "-" strips all, lstrip_blocks strips the indent of a block/comment line.</summary>
    private string ApplyLeftStrip(string text, char sign, bool isBlockOrComment)
    {
        if (sign == '-') return RStrip(text);
        if (sign != '+' && LStripBlocks && isBlockOrComment)
        {
            int lpos = text.LastIndexOf('\n') + 1;
            if ((lpos > 0 || _lineStarting) && lpos < text.Length && AllSpace(text, lpos))
                return text[..lpos];
        }
        return text;
    }

    private static bool AllSpace(string s, int from)
    {
        for (int i = from; i < s.Length; i++) if (!Py.IsSpace(s[i])) return false;
        return true;
    }

    private static string RStrip(string s)
    {
        int e = s.Length;
        while (e > 0 && Py.IsSpace(s[e - 1])) e--;
        return s[..e];
    }

    private int SkipSpace(int p)
    {
        while (p < _src.Length && Py.IsSpace(_src[p])) p++;
        return p;
    }

    private void Emit(TokenKind kind, string value, int pos, object? literal = null) =>
        _tokens.Add(new Token(kind, value, LineAt(pos), literal));

    private void LexRaw(int start)
    {
        var end = RawEnd().Match(_src, _pos);
        if (!end.Success) throw Error("Missing end of raw directive", start);
        char sign = end.Groups[1].Value is { Length: 1 } g ? g[0] : '\0';
        string text = ApplyLeftStrip(_src[_pos..end.Index], sign, true);
        if (text.Length > 0) Emit(TokenKind.Data, text, _pos);
        _pos = end.Index + end.Length;
        _lineStarting = end.Value.EndsWith('\n');
    }

    private void LexComment(int start)
    {
        int close = _src.IndexOf("#}", _pos, StringComparison.Ordinal);
        if (close < 0) throw Error("Missing end of comment tag", start);
        char sign = close > _pos && _src[close - 1] is '-' or '+' ? _src[close - 1] : '\0';
        _pos = FinishEndTag(close + 2, sign, trim: TrimBlocks);
    }

    /// <summary>After an end tag: "-" eats all following whitespace, trim_blocks eats one newline (not for "+").</summary>
    private int FinishEndTag(int after, char sign, bool trim)
    {
        int p = after;
        if (sign == '-') p = SkipSpace(p);
        else if (sign != '+' && trim && p < _src.Length && _src[p] == '\n') p++;
        _lineStarting = p > after && _src[p - 1] == '\n';
        return p;
    }

    private void LexTag(TokenKind begin, int start)
    {
        bool block = begin == TokenKind.BlockBegin;
        Emit(begin, block ? "{%" : "{{", start);
        var brackets = new Stack<char>();
        while (true)
        {
            if (_pos >= _src.Length) throw Error(block ? "unexpected end of template, expected end of statement block" : "unexpected end of template, expected end of print statement", start);
            if (brackets.Count == 0 && TryEndTag(block)) return;
            char c = _src[_pos];
            if (Py.IsSpace(c)) { _pos++; continue; }
            int tokenPos = _pos;
            if (char.IsAsciiDigit(c)) { LexNumber(); continue; }
            if (char.IsAsciiLetter(c) || c == '_')
            {
                int e = _pos + 1;
                while (e < _src.Length && (char.IsAsciiLetterOrDigit(_src[e]) || _src[e] == '_')) e++;
                Emit(TokenKind.Name, _src[_pos..e], tokenPos);
                _pos = e;
                continue;
            }
            if (c is '\'' or '"') { LexString(c); continue; }
            string? op = null;
            foreach (var candidate in Operators)
                if (string.CompareOrdinal(_src, _pos, candidate, 0, candidate.Length) == 0) { op = candidate; break; }
            if (op is null) throw Error($"unexpected char '{c}' at {_pos}", _pos);
            switch (op)
            {
                case "(": brackets.Push(')'); break;
                case "[": brackets.Push(']'); break;
                case "{": brackets.Push('}'); break;
                case ")" or "]" or "}":
                    if (brackets.Count == 0) throw Error($"unexpected '{op}'", _pos);
                    char expected = brackets.Pop();
                    if (expected != op[0]) throw Error($"unexpected '{op}', expected '{expected}'", _pos);
                    break;
            }
            Emit(TokenKind.Operator, op, tokenPos);
            _pos += op.Length;
        }
    }

    private bool TryEndTag(bool block)
    {
        string close = block ? "%}" : "}}";
        char sign = '\0';
        int p = _pos;
        if (_src[p] is '-' or '+' && string.CompareOrdinal(_src, p + 1, close, 0, 2) == 0)
        {
            if (_src[p] == '+' && !block) return false; // "+}}" is not an end tag
            sign = _src[p];
            p++;
        }
        else if (string.CompareOrdinal(_src, p, close, 0, 2) != 0) return false;
        Emit(block ? TokenKind.BlockEnd : TokenKind.VariableEnd, close, _pos);
        _pos = FinishEndTag(p + 2, sign, trim: block && TrimBlocks);
        return true;
    }

    private void LexNumber()
    {
        int start = _pos;
        bool afterDot = start > 0 && _src[start - 1] == '.';
        string s = _src;
        if (s[start] == '0' && start + 1 < s.Length && char.ToLowerInvariant(s[start + 1]) is 'x' or 'o' or 'b')
        {
            int radix = char.ToLowerInvariant(s[start + 1]) switch { 'x' => 16, 'o' => 8, _ => 2 };
            int e = start + 2;
            while (e < s.Length && (Uri.IsHexDigit(s[e]) || s[e] == '_')) e++;
            string digits = s[(start + 2)..e].Replace("_", "");
            long value = 0;
            foreach (char d in digits)
            {
                int dv = Convert.ToInt32(d.ToString(), 16);
                if (dv >= radix) throw Error($"invalid digit '{d}' in number", start);
                value = checked(value * radix + dv);
            }
            Emit(TokenKind.Integer, s[start..e], start, value);
            _pos = e;
            return;
        }
        int end = ScanDigits(start);
        bool isFloat = false;
        if (!afterDot)
        {
            if (end + 1 < s.Length && s[end] == '.' && char.IsAsciiDigit(s[end + 1]))
            {
                end = ScanDigits(end + 1);
                isFloat = true;
            }
            if (end < s.Length && s[end] is 'e' or 'E')
            {
                int q = end + 1;
                if (q < s.Length && s[q] is '+' or '-') q++;
                if (q < s.Length && char.IsAsciiDigit(s[q]))
                {
                    end = ScanDigits(q);
                    isFloat = true;
                }
            }
        }
        string text = s[start..end];
        string clean = text.Replace("_", "");
        if (isFloat)
            Emit(TokenKind.Float, text, start, double.Parse(clean, NumberStyles.Float, CultureInfo.InvariantCulture));
        else if (long.TryParse(clean, NumberStyles.None, CultureInfo.InvariantCulture, out long l))
            Emit(TokenKind.Integer, text, start, l);
        else
            Emit(TokenKind.Float, text, start, double.Parse(clean, CultureInfo.InvariantCulture));
        _pos = end;
    }

    private int ScanDigits(int p)
    {
        while (p < _src.Length && (char.IsAsciiDigit(_src[p]) || (_src[p] == '_' && p + 1 < _src.Length && char.IsAsciiDigit(_src[p + 1])))) p++;
        return p;
    }

    /// <summary>A quoted string with Python's unicode-escape rules (\n, \t, \xNN, \uNNNN, ...; unknown escapes stay).</summary>
    private void LexString(char quote)
    {
        int start = _pos;
        var sb = new StringBuilder();
        int p = _pos + 1;
        while (true)
        {
            if (p >= _src.Length) throw Error("unexpected end of string", start);
            char c = _src[p];
            if (c == quote) { p++; break; }
            if (c != '\\') { sb.Append(c); p++; continue; }
            if (p + 1 >= _src.Length) throw Error("unexpected end of string", start);
            char e = _src[p + 1];
            p += 2;
            switch (e)
            {
                case '\n': break;
                case '\\': sb.Append('\\'); break;
                case '\'': sb.Append('\''); break;
                case '"': sb.Append('"'); break;
                case 'a': sb.Append('\a'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'n': sb.Append('\n'); break;
                case 'r': sb.Append('\r'); break;
                case 't': sb.Append('\t'); break;
                case 'v': sb.Append('\v'); break;
                case 'x': sb.Append(HexEscape(ref p, 2, start)); break;
                case 'u': sb.Append(HexEscape(ref p, 4, start)); break;
                case 'U': sb.Append(HexEscape(ref p, 8, start)); break;
                case >= '0' and <= '7':
                    {
                        int v = e - '0', n = 1;
                        while (n < 3 && p < _src.Length && _src[p] is >= '0' and <= '7') { v = v * 8 + (_src[p] - '0'); p++; n++; }
                        sb.Append((char)v);
                        break;
                    }
                default: sb.Append('\\').Append(e); break;
            }
        }
        Emit(TokenKind.String, _src[start..p], start, sb.ToString());
        _pos = p;
    }

    private string HexEscape(ref int p, int digits, int start)
    {
        if (p + digits > _src.Length || !int.TryParse(_src.AsSpan(p, digits), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int v))
            throw Error("truncated \\x/\\u escape in string", start);
        p += digits;
        return char.ConvertFromUtf32(v);
    }
}
