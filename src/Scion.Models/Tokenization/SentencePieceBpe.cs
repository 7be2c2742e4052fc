using System.Text;

namespace Scion.Models.Tokenization;

/// <summary>
/// SentencePiece-style BPE as llama.cpp runs it (llm_tokenizer_spm): start from one symbol per code point and keep
/// merging the adjacent pair whose concatenation is the vocabulary token with the highest score (ties: leftmost
/// pair first). Symbols that end up as no token are written as byte tokens <c>&lt;0xNN&gt;</c>.
/// The text must already have spaces escaped as U+2581.
/// </summary>
internal sealed class SentencePieceBpe
{
    private readonly Vocabulary _vocab;
    private readonly int[] _byteTokens; // [256] id of <0xNN> (or of the one-char token), -1 when the vocabulary has neither
    private readonly int _unknownId;

    // Adjacent code point pairs that occur inside some token. Where the text has a pair that is in no token, no
    // merge can ever cross it, so the text splits there into parts that encode alone, exactly, and can be cached
    // (for Llama 2 that is before every "▁" that follows another char).
    private readonly HashSet<long> _pairsInTokens = new(PairKeyComparer.Instance);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);
    private const int CacheLimit = 200_000, CacheablePartLength = 256;

    public SentencePieceBpe(Vocabulary vocab, int unknownId)
    {
        foreach (var token in vocab.Texts)
        {
            int prev = -1;
            foreach (var rune in token.EnumerateRunes())
            {
                if (prev >= 0) _pairsInTokens.Add(PairKey(prev, rune.Value));
                prev = rune.Value;
            }
        }
        _vocab = vocab;
        _unknownId = unknownId;
        _byteTokens = new int[256];
        for (int b = 0; b < 256; b++)
        {
            int id = vocab.Find($"<0x{b:X2}>");
            if (id < 0 && b < 0x80) id = vocab.Find(((char)b).ToString());
            _byteTokens[b] = id;
        }
    }

    private struct Symbol
    {
        public int Start, Length, Prev, Next;
    }

    private readonly record struct Bigram(int Left, int Right, int Size);

    private sealed class BigramOrder : IComparer<(float Score, int Left)>
    {
        public static readonly BigramOrder Instance = new();
        // Highest score first; among equals the leftmost pair, as llama.cpp's llm_bigram_spm comparator.
        public int Compare((float Score, int Left) a, (float Score, int Left) b)
        {
            int c = b.Score.CompareTo(a.Score);
            return c != 0 ? c : a.Left.CompareTo(b.Left);
        }
    }

    private static long PairKey(int a, int b) => ((long)a << 21) | (uint)b;

    public void Encode(string text, List<int> output)
    {
        int partStart = 0, prev = -1;
        for (int i = 0; i < text.Length;)
        {
            int cp = char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]) ? char.ConvertToUtf32(text[i], text[i + 1]) : text[i];
            // Also cut a part that reached the run limit: an uncut 4 MB run of one letter held every symbol and a queue.
            if (prev >= 0 && (!_pairsInTokens.Contains(PairKey(prev, cp)) || i - partStart >= BpeRunLimit.MaxChars))
            {
                EncodePart(text.Substring(partStart, i - partStart), output);
                partStart = i;
            }
            prev = cp;
            i += cp >= 0x10000 ? 2 : 1;
        }
        if (partStart < text.Length) EncodePart(partStart == 0 ? text : text[partStart..], output);
    }

    private void EncodePart(string part, List<int> output)
    {
        if (part.Length > CacheablePartLength) { EncodeUncached(part, output); return; }
        if (_cache.TryGetValue(part, out var cached)) { output.AddRange(cached); return; }
        int before = output.Count;
        EncodeUncached(part, output);
        if (_cache.Count >= CacheLimit) _cache.Clear();
        _cache.TryAdd(part, output.GetRange(before, output.Count - before).ToArray());
    }

    private void EncodeUncached(string text, List<int> output)
    {
        if (text.Length == 0) return;
        var symbols = new List<Symbol>(text.Length);
        for (int i = 0; i < text.Length;)
        {
            int len = char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]) ? 2 : 1;
            symbols.Add(new Symbol { Start = i, Length = len, Prev = symbols.Count - 1, Next = i + len == text.Length ? -1 : symbols.Count + 1 });
            i += len;
        }
        var sym = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(symbols);
        var queue = new PriorityQueue<Bigram, (float, int)>(symbols.Count, BigramOrder.Instance);
        for (int i = 1; i < sym.Length; i++) TryAddBigram(text, sym, queue, i - 1, i);

        while (queue.TryDequeue(out var bigram, out _))
        {
            ref var left = ref sym[bigram.Left];
            ref var right = ref sym[bigram.Right];
            // Skip pairs whose symbols were merged away or grew since the pair was queued.
            if (left.Length == 0 || right.Length == 0 || left.Length + right.Length != bigram.Size) continue;
            left.Length += right.Length;
            right.Length = 0;
            left.Next = right.Next;
            if (right.Next >= 0) sym[right.Next].Prev = bigram.Left;
            TryAddBigram(text, sym, queue, left.Prev, bigram.Left);
            TryAddBigram(text, sym, queue, bigram.Left, left.Next);
        }

        Span<byte> bytes = stackalloc byte[4];
        for (int i = 0; i != -1; i = sym[i].Next)
        {
            var s = sym[i];
            int id = _vocab.Find(text.AsSpan(s.Start, s.Length));
            if (id >= 0) { output.Add(id); continue; }
            // Every merged symbol is a token, so only single code points can get here: write their UTF-8 bytes.
            int n = Encoding.UTF8.GetBytes(text.AsSpan(s.Start, s.Length), bytes);
            for (int j = 0; j < n; j++)
            {
                int byteId = _byteTokens[bytes[j]];
                if (byteId < 0) byteId = _unknownId >= 0 ? _unknownId
                    : throw new InvalidOperationException($"Vocabulary has no byte token <0x{bytes[j]:X2}> and no unknown token to stand for it.");
                output.Add(byteId);
            }
        }
    }

    private void TryAddBigram(string text, Span<Symbol> sym, PriorityQueue<Bigram, (float, int)> queue, int left, int right)
    {
        if (left == -1 || right == -1) return;
        int start = sym[left].Start, size = sym[left].Length + sym[right].Length;
        int id = _vocab.Find(text.AsSpan(start, size));
        if (id < 0) return;
        queue.Enqueue(new Bigram(left, right, size), (_vocab.Scores[id], left));
    }
}
