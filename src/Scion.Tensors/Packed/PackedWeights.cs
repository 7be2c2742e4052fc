using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Scion.Tensors.Quant;

namespace Scion.Tensors.Packed;

/// <summary>
/// A Q4_0 or Q8_0 weight matrix repacked into groups of 8 consecutive rows so that one 256-bit u8×s8 dot gives
/// 8 int32 lanes = 8 rows × one column quad, against 4 activation bytes broadcast to every lane. Layout of group g
/// (<see cref="GroupBytes"/> apart, rows past <see cref="Rows"/> padded with zero quants and zero scales):
/// <code>
/// quants [blocks, QuantBytes]   block b, vector k: byte 4r+i = row r, column quad k, byte i
///     Q4_0: 4 vectors; byte = the stored nibble pair (low = column 4k+i, high = column 16+4k+i), unsigned 0..15
///     Q8_0: 8 vectors; byte = stored int8 XOR 0x80 (= w + 128, unsigned)
/// scales [blocks, 8] halves     the 8 rows' block scales as stored (finite only: see <see cref="TryPack"/>)
/// </code>
/// The scales stay halves so the packed bytes equal the file's (decode reads every weight byte once per token and
/// is bound by memory bandwidth); they widen in four vector instructions per block and group.
/// </summary>
public sealed unsafe class PackedWeights : IDisposable
{
    private byte* _data;

    private PackedWeights(GgmlType type, int rows, int cols)
    {
        Type = type;
        Rows = rows;
        Cols = cols;
        Groups = (rows + 7) / 8;
        GroupBytes = GroupBytesFor(type, cols);
        ByteCount = GroupBytes * Groups;
        // Decode streams these bytes once per token; on 4 KiB pages that is a TLB miss (a two-level page walk in a
        // VM) every 4 KiB. Whole 2 MiB pages where the copy covers them; the tail stays on small pages, so resident
        // memory does not grow.
        long hugeBytes = MemoryAdvice.UseHugePages ? ByteCount & ~(MemoryAdvice.HugePageBytes - 1) : 0;
        _data = (byte*)NativeMemory.AlignedAlloc((nuint)ByteCount, hugeBytes > 0 ? (nuint)MemoryAdvice.HugePageBytes : 64);
        if (hugeBytes > 0) MemoryAdvice.PreferHugePages(_data, hugeBytes);
    }

    public GgmlType Type { get; }
    public int Rows { get; }
    public int Cols { get; }
    /// <summary>Groups of 8 rows, the last one padded.</summary>
    public int Groups { get; }
    public long GroupBytes { get; }
    public long ByteCount { get; }

    /// <summary>The packed bytes; null once disposed.</summary>
    public byte* Data => _data;

    /// <summary>Bytes of quants per group and 32-column block: 4 (Q4_0) or 8 (Q8_0) vectors of 32 bytes.</summary>
    public static int QuantBytes(GgmlType type) => type == GgmlType.Q4_0 ? 128 : 256;

    /// <summary>Group stride: quants, then scales, rounded up to a cache line so every group starts aligned.</summary>
    public static long GroupBytesFor(GgmlType type, int cols)
    {
        long blocks = cols / 32;
        return (blocks * (QuantBytes(type) + 16) + 63) & ~63L;
    }

    /// <summary>Whether <see cref="MatMul"/> runs packed <paramref name="type"/> weights at <paramref name="level"/>
    /// (Q4_0 at any SIMD level; Q8_0 needs VNNI). Elsewhere a packed copy is ignored, so making one would waste memory.</summary>
    public static bool HasKernels(GgmlType type, KernelLevel level) => PackedMatMul.Supports(type, level);

    /// <summary>Whether <paramref name="type"/> has packed kernels (Q4_0, Q8_0; whole 32-column blocks).</summary>
    public static bool IsPackable(GgmlType type, int cols) => type is GgmlType.Q4_0 or GgmlType.Q8_0 && cols > 0 && cols % 32 == 0;

    /// <summary>
    /// Repacks <paramref name="w"/>; null when its type has no packed kernels or a block scale is Inf/NaN (the
    /// in-loop half widening handles finite halves only; such a matrix stays with the row kernels).
    /// <paramref name="pool"/> spreads the groups over threads (null: the calling thread alone).
    /// </summary>
    public static PackedWeights? TryPack(in WeightMatrix w, WorkerPool? pool = null)
    {
        if (!IsPackable(w.Type, w.Cols)) return null;
        var packed = new PackedWeights(w.Type, w.Rows, w.Cols);
        int nonFinite = 0;
        var job = new PackJob
        {
            Source = w.Data, RowBytes = w.RowBytes, Rows = w.Rows, Cols = w.Cols, Type = w.Type, Dst = packed._data, GroupBytes = packed.GroupBytes,
            NonFinite = &nonFinite,
        };
        int items = (packed.Groups + PackJob.GroupsPerItem - 1) / PackJob.GroupsPerItem;
        if (pool is null || items == 1)
            for (int i = 0; i < items; i++) job.Execute(i);
        else
            pool.Run(items, ref job);
        if (Volatile.Read(ref nonFinite) != 0)
        {
            packed.Dispose();
            return null;
        }
        return packed;
    }

    private struct PackJob : IParallelJob
    {
        public const int GroupsPerItem = 16;
        public byte* Source;    // [rows, RowBytes]
        public long RowBytes;
        public int Rows, Cols;
        public GgmlType Type;
        public byte* Dst;       // [groups, GroupBytes]
        public long GroupBytes;
        public int* NonFinite;  // set to 1 when a block scale is Inf/NaN (exponent bits all ones)

        public readonly void Execute(int item)
        {
            int groups = (Rows + 7) / 8;
            int blocks = Cols / 32;
            int quantBytes = QuantBytes(Type);
            int blockBytes = Type == GgmlType.Q4_0 ? BlockLayout.Q4_0Bytes : BlockLayout.Q8_0Bytes;
            for (int g = item * GroupsPerItem; g < Math.Min(groups, (item + 1) * GroupsPerItem); g++)
            {
                byte* group = Dst + g * GroupBytes;
                ushort* scales = (ushort*)(group + (long)blocks * quantBytes);
                if (g * 8 + 8 <= Rows && Avx2.IsSupported)
                {
                    PackWholeGroup(Source + (long)g * 8 * RowBytes, RowBytes, blocks, blockBytes, quantBytes, group, scales);
                    continue;
                }
                new Span<byte>(group, checked((int)GroupBytes)).Clear();
                for (int r = 0; r < 8 && g * 8 + r < Rows; r++)
                {
                    byte* row = Source + (g * 8 + r) * RowBytes;
                    for (int b = 0; b < blocks; b++)
                    {
                        byte* block = row + (long)b * blockBytes;
                        scales[b * 8 + r] = *(ushort*)block;
                        if ((*(ushort*)block & 0x7c00) == 0x7c00) *NonFinite = 1;
                        byte* q = group + (long)b * quantBytes + 4 * r;
                        if (Type == GgmlType.Q4_0)
                        {
                            // Byte j holds columns j (low nibble) and j + 16 (high): the nibble pairs move as they are.
                            for (int k = 0; k < 4; k++) *(uint*)(q + 32 * k) = *(uint*)(block + 2 + 4 * k);
                        }
                        else
                        {
                            for (int k = 0; k < 8; k++) *(uint*)(q + 32 * k) = *(uint*)(block + 2 + 4 * k) ^ 0x80808080u;
                        }
                    }
                }
            }
        }

        // Eight rows at once: per block, four 4-byte chunks of each row become vector k = chunk k of rows 0..7, a
        // 4x8 transpose of dwords (rows r and r + 4 share a register, then unpack steps within 128-bit lanes).
        private readonly void PackWholeGroup(byte* rows, long rowBytes, int blocks, int blockBytes, int quantBytes, byte* group, ushort* scales)
        {
            new Span<byte>(group + (long)blocks * (quantBytes + 16), checked((int)(GroupBytes - (long)blocks * (quantBytes + 16)))).Clear();
            Vector256<byte> flip = Type == GgmlType.Q4_0 ? Vector256<byte>.Zero : Vector256.Create((byte)0x80);
            for (int b = 0; b < blocks; b++)
            {
                byte* block = rows + (long)b * blockBytes;
                int special = 0;
                for (int r = 0; r < 8; r++)
                {
                    ushort scale = *(ushort*)(block + r * rowBytes);
                    scales[8 * b + r] = scale;
                    special |= (scale & 0x7c00) == 0x7c00 ? 1 : 0;
                }
                if (special != 0) *NonFinite = 1;
                byte* q = group + (long)b * quantBytes;
                for (int half = 0; half < quantBytes / 128; half++)
                {
                    byte* src = block + 2 + 16 * half;
                    Vector256<uint> a0 = Vector256.Create(Vector128.Load(src), Vector128.Load(src + 4 * rowBytes)).AsUInt32();
                    Vector256<uint> a1 = Vector256.Create(Vector128.Load(src + rowBytes), Vector128.Load(src + 5 * rowBytes)).AsUInt32();
                    Vector256<uint> a2 = Vector256.Create(Vector128.Load(src + 2 * rowBytes), Vector128.Load(src + 6 * rowBytes)).AsUInt32();
                    Vector256<uint> a3 = Vector256.Create(Vector128.Load(src + 3 * rowBytes), Vector128.Load(src + 7 * rowBytes)).AsUInt32();
                    Vector256<ulong> t0 = Avx2.UnpackLow(a0, a1).AsUInt64(), t1 = Avx2.UnpackHigh(a0, a1).AsUInt64();
                    Vector256<ulong> t2 = Avx2.UnpackLow(a2, a3).AsUInt64(), t3 = Avx2.UnpackHigh(a2, a3).AsUInt64();
                    byte* dst = q + 128 * half;
                    (Avx2.UnpackLow(t0, t2).AsByte() ^ flip).Store(dst);
                    (Avx2.UnpackHigh(t0, t2).AsByte() ^ flip).Store(dst + 32);
                    (Avx2.UnpackLow(t1, t3).AsByte() ^ flip).Store(dst + 64);
                    (Avx2.UnpackHigh(t1, t3).AsByte() ^ flip).Store(dst + 96);
                }
            }
        }
    }

    public void Dispose()
    {
        if (_data != null)
        {
            NativeMemory.AlignedFree(_data);
            _data = null;
        }
        GC.SuppressFinalize(this);
    }

    ~PackedWeights() => Dispose();
}
