using System.Buffers.Binary;
using System.Text;
using Scion.Models.Formats;

namespace Scion.Models.Tokenization;

public sealed partial class Tokenizer
{
    /// <summary>
    /// A llama2.c <c>tokenizer.bin</c>: int32 max token length, then per token a float32 score, an int32 byte length
    /// and the UTF-8 bytes. llama2.c's exporter wrote SentencePiece pieces with U+2581 turned into spaces and BOS/EOS
    /// as "\n&lt;s&gt;\n"/"\n&lt;/s&gt;\n"; this undoes both and types the tokens as llama.cpp's converter does
    /// (0 unknown, 1 and 2 control, &lt;0xNN&gt; byte), so the result encodes exactly like the same vocabulary in GGUF.
    /// </summary>
    public static Tokenizer FromLlama2c(string tokenizerBinPath, int vocabSize)
    {
        ArgumentNullException.ThrowIfNull(tokenizerBinPath);
        if (vocabSize <= 3) throw new ArgumentOutOfRangeException(nameof(vocabSize), vocabSize, "A llama2.c vocabulary needs more than 3 tokens.");
        PathKind.RequireFile(tokenizerBinPath, "llama2.c tokenizer.bin file");
        byte[] data = File.ReadAllBytes(tokenizerBinPath);
        int offset = 4; // max_token_length is not needed
        var texts = new string[vocabSize];
        var scores = new float[vocabSize];
        var types = new TokenType[vocabSize];
        for (int i = 0; i < vocabSize; i++)
        {
            if (offset + 8 > data.Length)
                throw new ModelFormatException($"{tokenizerBinPath}: ends at token {i} of {vocabSize} (byte {offset} of {data.Length}).");
            scores[i] = BinaryPrimitives.ReadSingleLittleEndian(data.AsSpan(offset));
            int len = BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(offset + 4));
            offset += 8;
            if (len < 0 || offset + len > data.Length)
                throw new ModelFormatException($"{tokenizerBinPath}: token {i} claims {len} bytes at byte {offset} of {data.Length}.");
            string text = Encoding.UTF8.GetString(data, offset, len);
            offset += len;
            (texts[i], types[i]) = i switch
            {
                0 => ("<unk>", TokenType.Unknown),
                1 => ("<s>", TokenType.Control),
                2 => ("</s>", TokenType.Control),
                _ when LlamaCppVocabRules.TryParseByteToken(text, out _) => (text, TokenType.Byte),
                _ => (text.Replace(' ', SentencePieceFragmentEncoder.SpaceMark), TokenType.Normal),
            };
        }
        var vocab = new Vocabulary(texts, scores, types);
        var eog = LlamaCppVocabRules.EndOfGeneration(vocab, 2, -1, -1);
        return new Tokenizer(new TokenizerParts(
            Kind: "llama", Vocab: vocab, Pieces: LlamaCppVocabRules.Pieces(vocab, byteLevel: false),
            Splitter: new SpecialTokenSplitter(vocab), Encoder: new SentencePieceFragmentEncoder(new SentencePieceBpe(vocab, 0), addSpacePrefix: true),
            BosId: 1, EosId: 2, UnknownId: 0, PaddingId: -1, AddBos: true, AddEos: false,
            AddSpacePrefix: true, StripsLeadingSpace: true, CleanSpaces: false, EndOfGeneration: eog));
    }
}
