using System.Text;

namespace Scion.Models.Tokenization;

/// <summary>
/// Text ↔ token ids for Llama-family models, matching llama.cpp's tokenizer: SentencePiece-style BPE with scores
/// (<c>tokenizer.ggml.model = llama</c>), byte-level BPE with merges (<c>gpt2</c>), and Hugging Face tokenizer.json BPE.
/// Build one with <see cref="FromGguf"/>, <see cref="FromHuggingFace"/> or <see cref="FromLlama2c"/>. Thread-safe.
/// </summary>
public sealed partial class Tokenizer
{
    internal Vocabulary Vocab { get; }
    private readonly byte[][] _pieces;          // [vocab] bytes each token contributes to decoded text
    private readonly SpecialTokenSplitter _splitter;
    private readonly FragmentEncoder _encoder;

    internal Tokenizer(TokenizerParts parts)
    {
        Vocab = parts.Vocab;
        _pieces = parts.Pieces;
        _splitter = parts.Splitter;
        _encoder = parts.Encoder;
        Kind = parts.Kind;
        BosId = parts.BosId;
        EosId = parts.EosId;
        UnknownId = parts.UnknownId;
        PaddingId = parts.PaddingId;
        AddBos = parts.AddBos && parts.BosId >= 0;
        AddEos = parts.AddEos && parts.EosId >= 0;
        AddSpacePrefix = parts.AddSpacePrefix;
        StripsLeadingSpace = parts.StripsLeadingSpace;
        CleanSpaces = parts.CleanSpaces;
        EndOfGenerationIds = parts.EndOfGeneration;
    }

    /// <summary>"llama" (SentencePiece BPE), "gpt2" (byte-level BPE) or "huggingface-bpe".</summary>
    public string Kind { get; }
    public int VocabSize => Vocab.Count;
    /// <summary>Beginning-of-sequence id, -1 if the vocabulary has none.</summary>
    public int BosId { get; }
    /// <summary>End-of-sequence id, -1 if the vocabulary has none.</summary>
    public int EosId { get; }
    public int UnknownId { get; }
    public int PaddingId { get; }
    /// <summary>Every id that ends generation: EOS plus end-of-turn / end-of-message tokens (llama.cpp's special_eog_ids).</summary>
    public IReadOnlySet<int> EndOfGenerationIds { get; }
    /// <summary>Encode with addSpecial puts BOS first.</summary>
    public bool AddBos { get; }
    /// <summary>Encode with addSpecial puts EOS last.</summary>
    public bool AddEos { get; }
    /// <summary>SentencePiece dummy prefix: a space is added before text at the start and after each special token.</summary>
    public bool AddSpacePrefix { get; }
    /// <summary>Decode drops one leading space of the decoded text (the dummy prefix the encoder added).</summary>
    public bool StripsLeadingSpace { get; }
    /// <summary>Whether llama.cpp's detokenizer tidies spaces before punctuation (used by <see cref="Detokenize"/> only).</summary>
    public bool CleanSpaces { get; }

    /// <summary>
    /// Text to ids. <paramref name="addSpecial"/> adds BOS/EOS as the model asks (<see cref="AddBos"/>,
    /// <see cref="AddEos"/>). <paramref name="parseSpecial"/> lets control tokens written in the text (a rendered chat
    /// template) become their ids; leave it off for user content, where "&lt;|eot_id|&gt;" must stay plain text.
    /// Lone surrogates are encoded as U+FFFD.
    /// </summary>
    public int[] Encode(string text, bool addSpecial = true, bool parseSpecial = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        text = ReplaceLoneSurrogates(text);
        var output = new List<int>(text.Length / 3 + 2);
        if (addSpecial && AddBos) output.Add(BosId);
        bool afterSpecial = true;
        foreach (var fragment in _splitter.Split(text, parseSpecial))
        {
            if (fragment.IsToken)
            {
                output.Add(fragment.TokenId);
                afterSpecial = true;
                continue;
            }
            string part = fragment.Start == 0 && fragment.Length == text.Length ? text : text.Substring(fragment.Start, fragment.Length);
            _encoder.Encode(part, new FragmentContext(afterSpecial, fragment.Start == 0), output);
            afterSpecial = false;
        }
        if (addSpecial && AddEos) output.Add(EosId);
        return output.ToArray();
    }

    /// <summary>
    /// Ids to text: token pieces joined, byte tokens reassembled into UTF-8 (invalid sequences become U+FFFD), and
    /// the leading space dropped when the encoder added one (<see cref="StripsLeadingSpace"/>), so
    /// Decode(Encode(s)) == s. <paramref name="skipSpecial"/> leaves out control and unknown tokens.
    /// </summary>
    public string Decode(ReadOnlySpan<int> ids, bool skipSpecial = false)
    {
        var bytes = new List<byte>(ids.Length * 4);
        foreach (int id in ids)
        {
            CheckId(id);
            if (skipSpecial && IsSpecial(id)) continue;
            bytes.AddRange(_pieces[id]);
        }
        var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes);
        if (StripsLeadingSpace && span.Length > 0 && span[0] == (byte)' ') span = span[1..];
        return Encoding.UTF8.GetString(span);
    }

    /// <summary>The raw bytes a token contributes to decoded text (no leading-space stripping); may be part of a UTF-8 sequence.</summary>
    public byte[] TokenBytes(int id)
    {
        CheckId(id);
        return (byte[])_pieces[id].Clone();
    }

    internal ReadOnlySpan<byte> PieceSpan(int id)
    {
        CheckId(id);
        return _pieces[id];
    }

    /// <summary>The token's string in the vocabulary (with U+2581 or byte-level chars as stored).</summary>
    public string TokenText(int id)
    {
        CheckId(id);
        return Vocab.Texts[id];
    }

    public TokenType GetTokenType(int id)
    {
        CheckId(id);
        return Vocab.Types[id];
    }

    /// <summary>Control and unknown tokens: the ones <c>skipSpecial</c> leaves out of decoded text.</summary>
    public bool IsSpecial(int id)
    {
        CheckId(id);
        return Vocab.IsControlLike(id);
    }

    public bool IsEndOfGeneration(int id) => EndOfGenerationIds.Contains(id);

    /// <summary>The id whose vocabulary string is exactly <paramref name="token"/>, or null.</summary>
    public int? TokenToId(string token)
    {
        int id = Vocab.Find(token);
        return id >= 0 ? id : null;
    }

    private void CheckId(int id)
    {
        if ((uint)id >= (uint)Vocab.Count)
            throw new ArgumentOutOfRangeException(nameof(id), id, $"Token id {id} is outside the vocabulary of {Vocab.Count} tokens.");
    }

    internal static string ReplaceLoneSurrogates(string text)
    {
        int i = 0;
        for (; i < text.Length; i++)
        {
            char c = text[i];
            if (!char.IsSurrogate(c)) continue;
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) { i++; continue; }
            break;
        }
        if (i >= text.Length) return text;
        var sb = new StringBuilder(text.Length);
        sb.Append(text, 0, i);
        for (; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) { sb.Append(c).Append(text[++i]); continue; }
            sb.Append(char.IsSurrogate(c) ? '\uFFFD' : c);
        }
        return sb.ToString();
    }
}

/// <summary>Everything a <see cref="Tokenizer"/> is made of; the factories fill it in.</summary>
internal sealed record TokenizerParts(
    string Kind, Vocabulary Vocab, byte[][] Pieces, SpecialTokenSplitter Splitter, FragmentEncoder Encoder,
    int BosId, int EosId, int UnknownId, int PaddingId, bool AddBos, bool AddEos,
    bool AddSpacePrefix, bool StripsLeadingSpace, bool CleanSpaces, IReadOnlySet<int> EndOfGeneration);
