using System.Collections.Concurrent;
using System.Text;

namespace Scion.Models.Tokenization;

/// <summary>What a BPE model writes for a final symbol that is not in the vocabulary.</summary>
internal enum BpeFallback
{
    /// <summary>llama.cpp: each UTF-8 byte of the symbol's text that is itself a one-char token, others dropped.</summary>
    LlamaCppSingleBytes,
    /// <summary>Hugging Face byte_fallback: one <c>&lt;0xNN&gt;</c> token per UTF-8 byte (unknown token if one is missing).</summary>
    ByteTokens,
    /// <summary>Hugging Face default: the unknown token (consecutive ones fused when fuse_unk), or nothing when there is none.</summary>
    Unknown,
}

/// <summary>
/// Rank-based BPE over one pre-tokenized word (llama.cpp's llm_tokenizer_bpe_session, Hugging Face's BPE model):
/// start from one symbol per code point and repeatedly merge the adjacent pair with the lowest merge rank (ties:
/// leftmost). A priority queue over a linked list keeps a word O(n log n); a bounded cache makes repeated words O(1).
/// Thread-safe.
/// </summary>
internal sealed class BpeModel
{
    private readonly Vocabulary _vocab;
    // Every string a symbol can hold: vocabulary tokens keep their ids, merge parts and results that are not tokens
    // get ids from Count upwards so merges stay integer lookups.
    private readonly Dictionary<string, int> _symbolIds;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _symbolLookup;
    private readonly Dictionary<long, (int Rank, int Merged)> _merges = new(PairKeyComparer.Instance);
    private int _nextPseudoId;
    private readonly bool _ignoreMerges;
    private readonly BpeFallback _fallback;
    private readonly bool _fuseUnknown;
    private readonly int _unknownId;
    private readonly int[] _byteTokens = new int[256];
    private readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);
    private const int CacheLimit = 200_000, CacheableWordLength = 256;

    public BpeModel(Vocabulary vocab, IEnumerable<(string Left, string Right)> merges, bool ignoreMerges,
        BpeFallback fallback, int unknownId, bool fuseUnknown)
    {
        _vocab = vocab;
        _ignoreMerges = ignoreMerges;
        _fallback = fallback;
        _unknownId = unknownId;
        _fuseUnknown = fuseUnknown;
        _nextPseudoId = vocab.Count;
        _symbolIds = new Dictionary<string, int>(vocab.Count, StringComparer.Ordinal);
        for (int i = 0; i < vocab.Count; i++) _symbolIds[vocab.Texts[i]] = i;
        _symbolLookup = _symbolIds.GetAlternateLookup<ReadOnlySpan<char>>();
        int rank = 0;
        foreach (var (left, right) in merges)
        {
            long key = Key(SymbolId(left), SymbolId(right));
            _merges.TryAdd(key, (rank, SymbolId(left + right))); // the first (lowest) rank of a duplicated merge wins
            rank++;
        }
        for (int b = 0; b < 256; b++)
            _byteTokens[b] = fallback == BpeFallback.ByteTokens ? vocab.Find($"<0x{b:X2}>") : b < 0x80 ? vocab.Find(((char)b).ToString()) : -1;
    }

    public int MergeCount => _merges.Count;

    private int SymbolId(string text)
    {
        if (_symbolIds.TryGetValue(text, out var id)) return id;
        _symbolIds[text] = _nextPseudoId;
        return _nextPseudoId++;
    }

    private static long Key(int left, int right) => ((long)left << 32) | (uint)right;

    private struct Symbol
    {
        public int Start, Length, Prev, Next, Id;
    }

    private readonly record struct Pair(int Left, int Right, int LeftLength, int RightLength, int Merged);

    [ThreadStatic] private static Symbol[]? _symbolBuffer;

    /// <summary>The longest run the merge loop has worked on in this thread: tests check it stays within <see cref="BpeRunLimit.MaxChars"/>.</summary>
    [ThreadStatic] internal static int LongestRun;
    [ThreadStatic] private static PriorityQueue<Pair, (int Rank, int Left)>? _queue;

    /// <summary>Appends the ids of one word (already byte-level mapped where the model expects that).</summary>
    public void EncodeWord(string word, List<int> output)
    {
        if (word.Length == 0) return;
        if (word.Length > BpeRunLimit.MaxChars)
        {
            EncodeLongWord(word, output);
            return;
        }
        if (word.Length <= CacheableWordLength && _cache.TryGetValue(word, out var cached)) { output.AddRange(cached); return; }
        int before = output.Count;
        EncodeUncached(word, output);
        if (word.Length <= CacheableWordLength)
        {
            if (_cache.Count >= CacheLimit) _cache.Clear();
            _cache.TryAdd(word, output.GetRange(before, output.Count - before).ToArray());
        }
    }

    /// <summary>A word longer than <see cref="BpeRunLimit.MaxChars"/>, merged one bounded run at a time.</summary>
    private void EncodeLongWord(string word, List<int> output)
    {
        for (int start = 0; start < word.Length;)
        {
            int end = BpeRunLimit.RunEnd(word, start, word.Length);
            int before = output.Count;
            EncodeUncached(word[start..end], output);
            // fuse_unk joins unknown tokens across the cut as it would inside one run.
            if (_fuseUnknown && _unknownId >= 0 && start > 0 && output.Count > before && before > 0
                && output[before] == _unknownId && output[before - 1] == _unknownId)
                output.RemoveAt(before);
            start = end;
        }
    }

    private void EncodeUncached(string word, List<int> output)
    {
        if (_ignoreMerges)
        {
            int whole = _vocab.Find(word);
            if (whole >= 0) { output.Add(whole); return; }
        }
        // Per-thread buffers: a long input is thousands of runs of up to BpeRunLimit.MaxChars, and fresh arrays of
        // that size each time are large-object allocations that the GC zeroes and collects in gen 2.
        if (word.Length > LongestRun) LongestRun = word.Length;
        var symbols = _symbolBuffer is { } buffer && buffer.Length >= word.Length ? buffer : _symbolBuffer = new Symbol[Math.Max(word.Length, 64)];
        int count = 0;
        for (int i = 0; i < word.Length;)
        {
            int len = char.IsHighSurrogate(word[i]) && i + 1 < word.Length && char.IsLowSurrogate(word[i + 1]) ? 2 : 1;
            int id = _symbolLookup.TryGetValue(word.AsSpan(i, len), out var sid) ? sid : -1;
            symbols[count] = new Symbol { Start = i, Length = len, Prev = count - 1, Next = i + len == word.Length ? -1 : count + 1, Id = id };
            count++;
            i += len;
        }
        if (count > 1)
        {
            var queue = _queue ??= new PriorityQueue<Pair, (int Rank, int Left)>();
            queue.Clear();
            for (int i = 1; i < count; i++) TryAddPair(symbols, queue, i - 1, i);
            while (queue.TryDequeue(out var pair, out _))
            {
                ref var left = ref symbols[pair.Left];
                ref var right = ref symbols[pair.Right];
                if (left.Length != pair.LeftLength || right.Length != pair.RightLength) continue; // stale pair
                left.Length += right.Length;
                left.Id = pair.Merged;
                right.Length = 0;
                left.Next = right.Next;
                if (right.Next >= 0) symbols[right.Next].Prev = pair.Left;
                TryAddPair(symbols, queue, left.Prev, pair.Left);
                TryAddPair(symbols, queue, pair.Left, left.Next);
            }
        }
        bool lastWasUnknown = false;
        for (int i = 0; i != -1; i = symbols[i].Next)
        {
            var s = symbols[i];
            if (s.Id >= 0 && s.Id < _vocab.Count) { output.Add(s.Id); lastWasUnknown = false; continue; }
            Fallback(word.AsSpan(s.Start, s.Length), output, ref lastWasUnknown);
        }
    }

    private void TryAddPair(Symbol[] symbols, PriorityQueue<Pair, (int, int)> queue, int left, int right)
    {
        if (left == -1 || right == -1) return;
        int l = symbols[left].Id, r = symbols[right].Id;
        if (l < 0 || r < 0) return;
        if (!_merges.TryGetValue(Key(l, r), out var merge)) return;
        queue.Enqueue(new Pair(left, right, symbols[left].Length, symbols[right].Length, merge.Merged), (merge.Rank, left));
    }

    private void Fallback(ReadOnlySpan<char> text, List<int> output, ref bool lastWasUnknown)
    {
        // A final symbol is a run of at most BpeRunLimit.MaxChars chars (merges of a hostile tokenizer.json can build
        // one that long), so its bytes go to the heap rather than risk the stack.
        int max = Encoding.UTF8.GetMaxByteCount(text.Length);
        Span<byte> bytes = max <= 256 ? stackalloc byte[max] : new byte[max];
        int n = Encoding.UTF8.GetBytes(text, bytes);
        switch (_fallback)
        {
            case BpeFallback.LlamaCppSingleBytes:
                for (int j = 0; j < n; j++) if (_byteTokens[bytes[j]] >= 0) output.Add(_byteTokens[bytes[j]]);
                break;
            case BpeFallback.ByteTokens:
                bool all = true;
                for (int j = 0; j < n; j++) all &= _byteTokens[bytes[j]] >= 0;
                if (all) { for (int j = 0; j < n; j++) output.Add(_byteTokens[bytes[j]]); lastWasUnknown = false; }
                else AddUnknown(output, ref lastWasUnknown);
                break;
            default:
                AddUnknown(output, ref lastWasUnknown);
                break;
        }
    }

    private void AddUnknown(List<int> output, ref bool lastWasUnknown)
    {
        if (_unknownId < 0) return;
        if (!(_fuseUnknown && lastWasUnknown)) output.Add(_unknownId);
        lastWasUnknown = true;
    }
}
