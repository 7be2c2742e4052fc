using System.Buffers.Binary;
using System.Text;
using Scion.Tensors;

namespace Scion.Models.Formats;

/// <summary>
/// A GGUF (v2/v3) file, memory-mapped. Metadata is parsed eagerly and validated; tensor data stays in the mapping.
/// </summary>
public sealed unsafe class GgufFile : IDisposable
{
    public const uint Magic = 0x46554747; // "GGUF" little-endian
    public const int DefaultAlignment = 32;

    private readonly MappedFile _file;
    private readonly Dictionary<string, GgufTensorInfo> _byName;

    public string Path => _file.Path;
    public uint Version { get; }
    public GgufMetadata Metadata { get; }
    public IReadOnlyList<GgufTensorInfo> Tensors { get; }
    public long Alignment { get; }
    /// <summary>File offset where the tensor data section starts.</summary>
    public long DataOffset { get; }
    public long FileSize => _file.Length;

    private GgufFile(MappedFile file, uint version, GgufMetadata metadata, List<GgufTensorInfo> tensors, long alignment, long dataOffset)
    {
        _file = file;
        Version = version;
        Metadata = metadata;
        Tensors = tensors;
        Alignment = alignment;
        DataOffset = dataOffset;
        _byName = new Dictionary<string, GgufTensorInfo>(StringComparer.Ordinal);
        foreach (var t in tensors)
            if (!_byName.TryAdd(t.Name, t)) throw new ModelFormatException($"{Path}: tensor '{t.Name}' appears twice.");
    }

    public static GgufFile Open(string path) => MappedFile.OpenAndParse(path, Parse);

    public GgufTensorInfo? FindTensor(string name) => _byName.GetValueOrDefault(name);

    public GgufTensorInfo RequireTensor(string name) =>
        FindTensor(name) ?? throw new ModelFormatException($"{Path}: tensor '{name}' is missing.");

    /// <summary>Pointer to the first byte of a tensor's data inside the mapping.</summary>
    public byte* TensorData(GgufTensorInfo info) => _file.Pointer + DataOffset + info.Offset;

    public ReadOnlySpan<byte> TensorBytes(GgufTensorInfo info) => _file.Span(DataOffset + info.Offset, info.ByteSize);

    public void Dispose() => _file.Dispose();

    private static GgufFile Parse(MappedFile file)
    {
        var r = new Reader(file);
        if (file.Length < 24) throw new ModelFormatException($"{file.Path}: file is {file.Length} bytes, too short for a GGUF header (24 bytes).");
        uint magic = r.U32();
        if (magic != Magic)
            throw new ModelFormatException($"{file.Path}: not a GGUF file (magic 0x{magic:X8}, expected 0x{Magic:X8} \"GGUF\").");
        uint version = r.U32();
        if (version is not (2 or 3))
            throw new ModelFormatException($"{file.Path}: GGUF version {version} is not supported (expected 2 or 3).");
        long tensorCount = r.Count("tensor count");
        long kvCount = r.Count("metadata count");

        var values = new Dictionary<string, object>(StringComparer.Ordinal);
        for (long i = 0; i < kvCount; i++)
        {
            string key = r.String();
            var type = (GgufValueType)r.U32();
            object value = r.Value(type, key);
            if (!values.TryAdd(key, value)) throw new ModelFormatException($"{file.Path}: metadata key '{key}' appears twice.");
        }
        var metadata = new GgufMetadata(values, file.Path);

        long alignment = DefaultAlignment;
        if (metadata.Contains("general.alignment"))
        {
            alignment = metadata.RequireInteger("general.alignment");
            // The format stores it as uint32; a larger value is named here rather than surfacing as tensors past the end of the file.
            if (alignment <= 0 || (alignment & (alignment - 1)) != 0 || alignment > uint.MaxValue)
                throw new ModelFormatException($"{file.Path}: general.alignment is {alignment}, expected a positive power of two that fits in 32 bits.");
        }

        var tensors = new List<GgufTensorInfo>((int)Math.Min(tensorCount, 1 << 20));
        for (long i = 0; i < tensorCount; i++)
        {
            string name = r.String();
            uint dims = r.U32();
            if (dims is 0 or > 4) throw new ModelFormatException($"{file.Path}: tensor '{name}' has {dims} dimensions (expected 1 to 4).");
            var shape = new long[dims];
            for (int d = 0; d < dims; d++)
            {
                ulong n = r.U64();
                if (n == 0 || n > (1UL << 40)) throw new ModelFormatException($"{file.Path}: tensor '{name}' dimension {d} is {n}.");
                shape[d] = (long)n;
            }
            uint typeId = r.U32();
            var type = (GgmlType)typeId;
            if (!GgmlTypeInfo.IsKnown(type))
                throw new ModelFormatException($"{file.Path}: tensor '{name}' has unknown type id {typeId}.");
            ulong rawOffset = r.U64();
            // Reject before the cast: a huge offset would turn negative and slip past the end-of-file check below.
            if (rawOffset > (ulong)file.Length)
                throw new ModelFormatException($"{file.Path}: tensor '{name}' data offset {rawOffset} is beyond the end of the file ({file.Length} bytes).");
            long offset = (long)rawOffset;
            if (offset % alignment != 0)
                throw new ModelFormatException($"{file.Path}: tensor '{name}' data offset {offset} is not a multiple of the alignment {alignment}.");
            int blockSize = GgmlTypeInfo.BlockSize(type);
            if (shape[0] % blockSize != 0)
                throw new ModelFormatException($"{file.Path}: tensor '{name}' has rows of {shape[0]} values, not a whole number of {type} blocks of {blockSize}.");
            // Dimensions are each below 2^40, but their product can still overflow. No ggml type stores a value in
            // less than one bit, so a real tensor has at most 8 values per byte of file.
            long elements = 1;
            foreach (long n in shape)
            {
                if (elements > (file.Length * 8 + 8) / n)
                    throw new ModelFormatException($"{file.Path}: tensor '{name}' has shape [{string.Join(", ", shape)}], far more values than the file ({file.Length} bytes) can hold.");
                elements *= n;
            }
            long bytes = elements / blockSize * GgmlTypeInfo.BlockBytes(type);
            tensors.Add(new GgufTensorInfo(name, shape, type, offset, bytes));
        }

        long dataOffset = (r.Position + alignment - 1) / alignment * alignment;
        foreach (var t in tensors)
        {
            if (dataOffset + t.Offset + t.ByteSize > file.Length)
                throw new ModelFormatException(
                    $"{file.Path}: tensor '{t.Name}' ({t.Type}, {t.ByteSize} bytes at data offset {t.Offset}) runs past the end of the file " +
                    $"({file.Length} bytes); the file is truncated or inconsistent.");
        }
        GgufDataLayout.Check(file, r.Position, dataOffset, alignment, tensors);
        return new GgufFile(file, version, metadata, tensors, alignment, dataOffset);
    }

    /// <summary>Bounds-checked little-endian cursor over the mapping.</summary>
    private ref struct Reader(MappedFile file)
    {
        public long Position;

        private ReadOnlySpan<byte> Take(long n, string what = "header")
        {
            if (n < 0 || Position + n > file.Length)
                throw new ModelFormatException($"{file.Path}: truncated file: reading {what} needs {n} bytes at offset {Position}, but the file has {file.Length} bytes.");
            var s = file.Span(Position, n);
            Position += n;
            return s;
        }

        public uint U32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));
        public ulong U64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));

        public long Count(string what)
        {
            ulong n = U64();
            // Every entry takes at least 8 bytes, so a count beyond the file length is corrupt.
            if (n > (ulong)file.Length) throw new ModelFormatException($"{file.Path}: {what} is {n}, impossible for a file of {file.Length} bytes.");
            return (long)n;
        }

        public string String()
        {
            ulong len = U64();
            if (len > (ulong)(file.Length - Position))
                throw new ModelFormatException($"{file.Path}: truncated file: a string of {len} bytes at offset {Position} runs past the end ({file.Length} bytes).");
            return Encoding.UTF8.GetString(Take((long)len, "a string"));
        }

        private int _depth;

        public object Value(GgufValueType type, string key) => type switch
        {
            GgufValueType.UInt8 => Take(1)[0],
            GgufValueType.Int8 => (sbyte)Take(1)[0],
            GgufValueType.UInt16 => BinaryPrimitives.ReadUInt16LittleEndian(Take(2)),
            GgufValueType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(Take(2)),
            GgufValueType.UInt32 => U32(),
            GgufValueType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(Take(4)),
            GgufValueType.Float32 => BinaryPrimitives.ReadSingleLittleEndian(Take(4)),
            GgufValueType.Bool => Take(1)[0] != 0,
            GgufValueType.String => String(),
            GgufValueType.UInt64 => U64(),
            GgufValueType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(Take(8)),
            GgufValueType.Float64 => BinaryPrimitives.ReadDoubleLittleEndian(Take(8)),
            GgufValueType.Array => NestedArray(key),
            _ => throw new ModelFormatException($"{file.Path}: metadata key '{key}' has unknown value type id {(uint)type}."),
        };

        private object NestedArray(string key)
        {
            // A corrupt file could nest arrays deeply enough to overflow the stack, which no catch can handle.
            if (++_depth > 8) throw new ModelFormatException($"{file.Path}: metadata array '{key}' is nested more than 8 deep.");
            try { return Array(key); }
            finally { _depth--; }
        }

        private object Array(string key)
        {
            var elem = (GgufValueType)U32();
            long n = Count($"length of array '{key}'");
            // Every element takes at least one byte (strings and nested arrays 8 or more), so a longer array is
            // corrupt; checking now avoids allocating a huge result array before the reads would fail.
            long minBytes = elem is GgufValueType.String or GgufValueType.Array ? 8 : 1;
            if (n > (file.Length - Position) / minBytes)
                throw new ModelFormatException($"{file.Path}: truncated file: metadata array '{key}' claims {n} elements at offset {Position}, more than the remaining {file.Length - Position} bytes can hold.");
            switch (elem)
            {
                case GgufValueType.UInt8: return Take(n, key).ToArray();
                case GgufValueType.Int8: return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(Take(n, key)).ToArray();
                case GgufValueType.UInt16: return Prim<ushort>(n, key);
                case GgufValueType.Int16: return Prim<short>(n, key);
                case GgufValueType.UInt32: return Prim<uint>(n, key);
                case GgufValueType.Int32: return Prim<int>(n, key);
                case GgufValueType.Float32: return Prim<float>(n, key);
                case GgufValueType.UInt64: return Prim<ulong>(n, key);
                case GgufValueType.Int64: return Prim<long>(n, key);
                case GgufValueType.Float64: return Prim<double>(n, key);
                case GgufValueType.Bool:
                {
                    var bytes = Take(n, key);
                    var result = new bool[n];
                    for (int i = 0; i < n; i++) result[i] = bytes[i] != 0;
                    return result;
                }
                case GgufValueType.String:
                {
                    var result = new string[n];
                    for (long i = 0; i < n; i++) result[i] = String();
                    return result;
                }
                case GgufValueType.Array:
                {
                    var result = new object[n];
                    for (long i = 0; i < n; i++) result[i] = Value(GgufValueType.Array, key);
                    return result;
                }
                default:
                    throw new ModelFormatException($"{file.Path}: metadata array '{key}' has unknown element type id {(uint)elem}.");
            }
        }

        private T[] Prim<T>(long n, string key) where T : unmanaged
        {
            var bytes = Take(checked(n * sizeof(T)), key);
            // Files are little-endian and so is every platform .NET runs this on.
            return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, T>(bytes).ToArray();
        }
    }
}
