using System.Text;

namespace Scion.Models.Tokenization;

/// <summary>
/// llama.cpp's rules around a GGUF vocabulary that are not in the file: token pieces for decoding (token_to_piece),
/// end-of-generation tokens found by their text, and per-model strip flags.
/// </summary>
internal static class LlamaCppVocabRules
{
    private static readonly string[] EndOfTurnTexts = ["<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>", "<｜end▁of▁sentence｜>"];
    private static readonly string[] EndOfGenerationTexts = ["<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>"];
    private static readonly string[] FimTexts = [
        "<|fim_prefix|>", "<fim-prefix>", "<｜fim▁begin｜>", "<PRE>",
        "<|fim_suffix|>", "<fim-suffix>", "<｜fim▁hole｜>", "<SUF>",
        "<|fim_middle|>", "<fim-middle>", "<｜fim▁end｜>", "<MID>"];
    // FIM pad / repo / file-separator tokens also end generation in llama.cpp.
    private static readonly string[] FimEndTexts = ["<|fim_pad|>", "<fim-pad>", "<PAD>", "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<|file_sep|>"];

    /// <summary>
    /// Marks end-of-turn-looking tokens as control (llama.cpp overrides their type the same way) and returns the set
    /// of ids that end generation, together with the EOT id it detected (-1 if none).
    /// </summary>
    public static HashSet<int> EndOfGeneration(Vocabulary vocab, int eosId, int eotId, int eomId)
    {
        var eog = new HashSet<int>();
        foreach (var text in EndOfTurnTexts.Concat(EndOfGenerationTexts).Concat(FimTexts).Concat(FimEndTexts).Distinct())
        {
            int id = vocab.Find(text);
            if (id < 0) continue;
            vocab.Types[id] = TokenType.Control;
            if (EndOfGenerationTexts.Contains(text) || FimEndTexts.Contains(text)) eog.Add(id);
        }
        if (eosId >= 0) eog.Add(eosId);
        if (eotId >= 0) eog.Add(eotId);
        if (eomId >= 0) eog.Add(eomId);
        return eog;
    }

    public static int DetectEndOfTurn(Vocabulary vocab) =>
        EndOfTurnTexts.Select(vocab.Find).Where(id => id >= 0).DefaultIfEmpty(-1).Min();

    /// <summary>Bytes each token contributes to text, as llama.cpp's token_to_piece with special = true.</summary>
    public static byte[][] Pieces(Vocabulary vocab, bool byteLevel)
    {
        var pieces = new byte[vocab.Count][];
        for (int id = 0; id < vocab.Count; id++)
        {
            string text = vocab.Texts[id];
            pieces[id] = vocab.Types[id] switch
            {
                TokenType.Control or TokenType.Unknown or TokenType.UserDefined => Encoding.UTF8.GetBytes(text),
                TokenType.Normal => byteLevel ? ByteLevelPiece(text) : Encoding.UTF8.GetBytes(text.Replace(SentencePieceFragmentEncoder.SpaceMark, ' ')),
                TokenType.Byte when !byteLevel && TryParseByteToken(text, out byte b) => [b],
                _ => [],
            };
        }
        return pieces;
    }

    public static bool TryParseByteToken(string text, out byte value)
    {
        value = 0;
        return text.Length == 6 && text.StartsWith("<0x", StringComparison.Ordinal) && text[5] == '>'
            && byte.TryParse(text.AsSpan(3, 2), System.Globalization.NumberStyles.HexNumber, null, out value);
    }

    // llama_decode_text: byte-level chars back to bytes; a char outside the table is written as llama.cpp writes it.
    private static byte[] ByteLevelPiece(string text)
    {
        var bytes = new List<byte>(text.Length);
        foreach (var rune in text.EnumerateRunes())
        {
            if (rune.Value < 0x10000 && ByteLevelMapping.TryCharToByte((char)rune.Value, out byte b)) { bytes.Add(b); continue; }
            var utf8 = new byte[4];
            int n = rune.EncodeToUtf8(utf8);
            bytes.AddRange(Encoding.UTF8.GetBytes("[UNK_BYTE_0x" + Convert.ToHexStringLower(utf8, 0, n) + text + "]"));
        }
        return bytes.ToArray();
    }
}
