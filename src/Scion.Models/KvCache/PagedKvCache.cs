using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Scion.Models.Llama;
using Scion.Tensors;

namespace Scion.Models.KvCache;

/// <summary>
/// Keys and values of every layer in fixed-size blocks shared by all sequences, addressed through per-sequence
/// block tables (vLLM's paged attention layout), so sequences grow, free and swap without moving data.
/// Entries are stored as F16 by default (llama.cpp's default cache numerics: keys and values rounded to half), or as
/// Q8_0 / Q4_0 blocks (<see cref="KvCacheFormat"/>), which attention reads directly: a Q8_0 cache holds about twice
/// the tokens of an F16 one in the same memory, a Q4_0 cache about 3.5 times.
/// </summary>
public sealed class PagedKvCache
{
    private readonly byte[][] _keys;   // per layer: F16 [blocks, Hkv*Dh, blockSize] halves (transposed), else [blocks, blockSize, KeyRowBytes]
    private readonly byte[][] _values; // per layer: [blocks, blockSize, ValueRowBytes]
    private readonly bool[] _nonFinite; // per layer: some key or value written since the last Clear is Inf/NaN in half
    private readonly Stack<int> _free;
    [ThreadStatic] private static ushort[]? t_halves; // one position's keys as halves, before they are spread over the block
    private readonly Dictionary<int, KvBlockTable> _tables = [];

    public int BlockSize { get; }
    public int BlockCount { get; }
    public int KvDim { get; }
    public int Layers { get; }
    public int FreeBlocks => _free.Count;
    public KvCacheFormat Format { get; }
    /// <summary>Bytes of one position's keys, and of its values, in one layer.</summary>
    public int KeyRowBytes { get; }
    public int ValueRowBytes { get; }
    public long Bytes => (long)Layers * BlockCount * BlockSize * (KeyRowBytes + ValueRowBytes);

    /// <summary>
    /// F16 keys are stored transposed inside each block: [blocks, Hkv·Dh, blockSize] halves, so attention reads value d
    /// of a head for all of a block's positions as one vector (keys along the lanes: one FMA chain per score, no
    /// horizontal sums, and one widening shared by every query of a prompt chunk). Values, and quantized keys, whose
    /// 32-value blocks run along a position's row, are rows: [blocks, blockSize, RowBytes].
    /// </summary>
    public bool KeysTransposed => Format.Keys == GgmlType.F16;

    /// <param name="externalBlocks">true when a caller's block pool (the serving engine's reference-counted,
    /// prefix-hashed blocks) owns every block: the cache's own free list starts empty and sequences come in through
    /// <see cref="Attach"/>.</param>
    /// <param name="format">How keys and values are stored; null: F16 both.</param>
    public PagedKvCache(LlamaConfig config, int maxTokens, int blockSize = 16, bool externalBlocks = false, KvCacheFormat? format = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTokens, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        Format = format ?? KvCacheFormat.F16;
        Format.Validate(config);
        BlockSize = blockSize;
        BlockCount = (maxTokens + blockSize - 1) / blockSize;
        KvDim = config.KvDim;
        Layers = config.Layers;
        KeyRowBytes = (int)KvCacheFormat.RowBytes(Format.Keys, KvDim);
        ValueRowBytes = (int)KvCacheFormat.RowBytes(Format.Values, KvDim);
        long keyBytes = (long)BlockCount * blockSize * KeyRowBytes, valueBytes = (long)BlockCount * blockSize * ValueRowBytes;
        if (Math.Max(keyBytes, valueBytes) > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(maxTokens), $"A KV cache of {maxTokens} tokens needs {Math.Max(keyBytes, valueBytes)} bytes per layer, above the array limit of {Array.MaxLength}.");
        _keys = new byte[Layers][];
        _values = new byte[Layers][];
        for (int l = 0; l < Layers; l++)
        {
            _keys[l] = new byte[keyBytes];
            _values[l] = new byte[valueBytes];
        }
        _nonFinite = new bool[Layers];
        _free = externalBlocks ? new Stack<int>() : new Stack<int>(Enumerable.Range(0, BlockCount).Reverse());
    }

    /// <summary>
    /// Registers a sequence whose blocks a caller allocated (see the constructor's externalBlocks): positions
    /// [0, length) are taken as valid. The forward pass then reads and writes it like any other table, but
    /// <see cref="Truncate"/> and <see cref="Free"/> never hand its blocks to this cache's free list.
    /// </summary>
    public KvBlockTable Attach(int sequence, IEnumerable<int> blocks, int length)
    {
        var table = new KvBlockTable { External = true };
        table.Blocks.AddRange(blocks);
        foreach (int b in table.Blocks)
            if ((uint)b >= (uint)BlockCount) throw new ArgumentOutOfRangeException(nameof(blocks), $"Block {b} is outside the cache's {BlockCount} blocks.");
        if (length < 0 || length > table.Blocks.Count * BlockSize)
            throw new ArgumentOutOfRangeException(nameof(length), $"Length {length} does not fit {table.Blocks.Count} blocks of {BlockSize} tokens.");
        if (!_tables.TryAdd(sequence, table)) throw new InvalidOperationException($"Sequence {sequence} already has a block table.");
        table.Length = length;
        return table;
    }

    /// <summary>Forgets a sequence registered with <see cref="Attach"/>; its blocks stay with their owner.</summary>
    public void Detach(int sequence) => _tables.Remove(sequence);

    /// <summary>Copies one block's keys and values, every layer, onto another (copy-on-write of a shared block).</summary>
    public void CopyBlock(int source, int destination)
    {
        if ((uint)source >= (uint)BlockCount || (uint)destination >= (uint)BlockCount)
            throw new ArgumentOutOfRangeException(nameof(source), $"Blocks {source} and {destination} must lie in [0, {BlockCount}).");
        int keys = BlockSize * KeyRowBytes, values = BlockSize * ValueRowBytes;
        for (int l = 0; l < Layers; l++)
        {
            Array.Copy(_keys[l], (long)source * keys, _keys[l], (long)destination * keys, keys);
            Array.Copy(_values[l], (long)source * values, _values[l], (long)destination * values, values);
        }
    }

    public IEnumerable<int> Sequences => _tables.Keys;

    public KvBlockTable? Table(int sequence) => _tables.GetValueOrDefault(sequence);

    public int Length(int sequence) => _tables.TryGetValue(sequence, out var t) ? t.Length : 0;

    /// <summary>Makes positions [0, length) of a sequence addressable, taking blocks from the free list.</summary>
    public KvBlockTable Reserve(int sequence, int length)
    {
        if (!_tables.TryGetValue(sequence, out var table)) _tables[sequence] = table = new KvBlockTable();
        int needed = (length + BlockSize - 1) / BlockSize;
        if (needed - table.Blocks.Count > _free.Count)
            throw new KvCacheFullException($"KV cache is full: sequence {sequence} needs {needed - table.Blocks.Count} more blocks of {BlockSize} tokens, {_free.Count} are free.");
        while (table.Blocks.Count < needed) table.Blocks.Add(_free.Pop());
        return table;
    }

    /// <summary>Keeps only positions [0, length) of a sequence (for re-prefill or rollback) and frees whole unused blocks.</summary>
    public void Truncate(int sequence, int length)
    {
        if (!_tables.TryGetValue(sequence, out var table)) return;
        table.Length = Math.Min(table.Length, length);
        if (table.External) return;
        int keep = (length + BlockSize - 1) / BlockSize;
        while (table.Blocks.Count > keep)
        {
            _free.Push(table.Blocks[^1]);
            table.Blocks.RemoveAt(table.Blocks.Count - 1);
        }
    }

    public void Free(int sequence)
    {
        if (!_tables.Remove(sequence, out var table) || table.External) return;
        for (int i = table.Blocks.Count - 1; i >= 0; i--) _free.Push(table.Blocks[i]);
    }

    public void Clear()
    {
        foreach (var s in _tables.Keys.ToList()) Free(s);
        Array.Clear(_nonFinite);
    }

    /// <summary>
    /// Stores one position's key and value ([Hkv*Dh] each) in a layer, in the cache's format (halves rounded to nearest
    /// even, or Q8_0 / Q4_0 blocks as llama.cpp quantizes them), and notes whether any of them is not finite there.
    /// A quantized row with a NaN or infinite input gets NaN block scales, so attention over it yields NaN, which the
    /// forward's non-finite check reports, rather than a silently zeroed row.
    /// </summary>
    public void Write(int layer, KvBlockTable table, int position, ReadOnlySpan<float> key, ReadOnlySpan<float> value)
    {
        if (key.Length != KvDim || value.Length != KvDim)
            throw new ArgumentException($"KV cache write at layer {layer}, position {position}: key has {key.Length} and value {value.Length} floats, the cache holds {KvDim}.");
        long row = Row(table, position);
        bool finite = KeysTransposed ? StoreTransposed(key, _keys[layer], table.Blocks[position / BlockSize], position % BlockSize)
            : Store(Format.Keys, key, _keys[layer].AsSpan((int)(row * KeyRowBytes), KeyRowBytes));
        finite &= Store(Format.Values, value, _values[layer].AsSpan((int)(row * ValueRowBytes), ValueRowBytes));
        if (!finite) _nonFinite[layer] = true;
    }

    /// <summary>One position's keys as halves into column <paramref name="slot"/> of its block's [Hkv·Dh, blockSize] tile.</summary>
    private bool StoreTransposed(ReadOnlySpan<float> key, byte[] keys, int block, int slot)
    {
        var halves = t_halves is { } buffer && buffer.Length >= KvDim ? buffer : t_halves = new ushort[KvDim];
        HalfConvert.FloatToHalf(key, halves.AsSpan(0, KvDim));
        var tile = MemoryMarshal.Cast<byte, ushort>(keys.AsSpan((int)((long)block * BlockSize * KeyRowBytes), BlockSize * KeyRowBytes));
        for (int e = 0; e < KvDim; e++) tile[e * BlockSize + slot] = halves[e];
        return AllHalfFinite(key);
    }

    /// <summary>Encodes one row; false when a stored value is not finite (an input NaN or Inf, or one beyond the range
    /// of a half or of a half block scale).</summary>
    private static bool Store(GgmlType type, ReadOnlySpan<float> x, Span<byte> dst)
    {
        if (type == GgmlType.F16)
        {
            HalfConvert.FromFloat(x, MemoryMarshal.Cast<byte, Half>(dst));
            return AllHalfFinite(x);
        }
        Quantize.Row(type, x, dst);
        int blockBytes = (int)GgmlTypeInfo.RowBytes(type, 32);
        bool inputsFinite = Ops.AllFinite(x), finite = inputsFinite;
        for (int b = 0; b < dst.Length; b += blockBytes)
        {
            var scale = MemoryMarshal.Cast<byte, ushort>(dst.Slice(b, 2));
            if (!inputsFinite) scale[0] = 0x7E00; // a quiet NaN half
            else if (!Half.IsFinite(BitConverter.UInt16BitsToHalf(scale[0]))) finite = false;
        }
        return finite;
    }

    /// <summary>True when every key and value written to the layer since the last <see cref="Clear"/> is finite in the
    /// cache's format, so attention may widen F16 rows with the short form that has no Inf/NaN handling.</summary>
    public bool AllFinite(int layer) => !_nonFinite[layer];

    /// <summary>Every value rounds to a finite half: |x| below 65520 (the rounding boundary to infinity) and not NaN.</summary>
    private static bool AllHalfFinite(ReadOnlySpan<float> x)
    {
        int i = 0;
        var limit = Vector256.Create(65520f);
        var ok = Vector256<float>.AllBitsSet;
        for (; i + 8 <= x.Length; i += 8) ok &= Vector256.LessThan(Vector256.Abs(Vector256.Create(x.Slice(i, 8))), limit); // NaN compares false
        bool all = ok.AsUInt32() == Vector256<uint>.AllBitsSet; // as integers: all-ones is a NaN as floats
        for (; i < x.Length; i++) all &= MathF.Abs(x[i]) < 65520f;
        return all;
    }

    /// <summary>Row of (block table, position) inside a layer's value array (and key array unless
    /// <see cref="KeysTransposed"/>): multiply by <see cref="ValueRowBytes"/> or <see cref="KeyRowBytes"/> for its byte offset.</summary>
    public long Row(KvBlockTable table, int position) => (long)table.Blocks[position / BlockSize] * BlockSize + position % BlockSize;

    /// <summary>A layer's keys, [blocks, blockSize, KeyRowBytes] bytes, transposed per block for F16 (<see cref="KeysTransposed"/>). Read-only by
    /// convention: writes go through <see cref="Write"/> so <see cref="AllFinite"/> stays true to the contents.</summary>
    public byte[] Keys(int layer) => _keys[layer];
    /// <summary>A layer's values, [blocks, blockSize, ValueRowBytes]; index with <see cref="Row"/>.</summary>
    public byte[] Values(int layer) => _values[layer];

    /// <summary>One position's keys as the cache holds them, widened to floats (tests and tools; attention reads the
    /// storage directly).</summary>
    public void ReadKey(int layer, KvBlockTable table, int position, Span<float> dst)
    {
        if (KeysTransposed)
        {
            var tile = MemoryMarshal.Cast<byte, ushort>(_keys[layer].AsSpan((int)((long)table.Blocks[position / BlockSize] * BlockSize * KeyRowBytes), BlockSize * KeyRowBytes));
            for (int e = 0; e < KvDim; e++) dst[e] = HalfConvert.HalfToFloat(tile[e * BlockSize + position % BlockSize]);
        }
        else ReadRow(Format.Keys, _keys[layer], Row(table, position) * KeyRowBytes, dst);
    }

    /// <summary>One position's values as the cache holds them, widened to floats.</summary>
    public void ReadValue(int layer, KvBlockTable table, int position, Span<float> dst) =>
        ReadRow(Format.Values, _values[layer], Row(table, position) * ValueRowBytes, dst);

    private unsafe void ReadRow(GgmlType type, byte[] storage, long offset, Span<float> dst)
    {
        fixed (byte* row = &storage[offset])
            for (int e = 0; e < KvDim; e++) dst[e] = Scion.Tensors.Reference.ReferenceAttention.Element(type, row, e);
    }

    internal void SetLength(KvBlockTable table, int length) => table.Length = length;
}
