using System.Text;
using Scion.Tensors;

namespace Scion.Models.Formats;

/// <summary>
/// Builds a GGUF v3 file: metadata (the same .NET value types <see cref="GgufFile"/> produces) and tensors
/// (ggml-order shapes, bytes or a callback that streams them), written atomically. Tensor data is aligned to
/// <c>general.alignment</c> when that key is set (it must then be a power of two), else to 32 bytes.
/// </summary>
public sealed class GgufWriter
{
    private readonly List<KeyValuePair<string, object>> _metadata = [];
    private readonly List<PendingTensor> _tensors = [];
    private readonly HashSet<string> _tensorNames = new(StringComparer.Ordinal);

    private sealed record PendingTensor(string Name, GgmlType Type, long[] Shape, long ByteSize, Action<Stream> WriteData);

    public IReadOnlyList<KeyValuePair<string, object>> Metadata => _metadata;

    public long Alignment
    {
        get
        {
            int i = _metadata.FindIndex(kv => kv.Key == "general.alignment");
            if (i < 0) return GgufFile.DefaultAlignment;
            long a = Convert.ToInt64(_metadata[i].Value, System.Globalization.CultureInfo.InvariantCulture);
            return a > 0 && (a & (a - 1)) == 0 ? a : throw new InvalidOperationException($"general.alignment is {a}, expected a positive power of two.");
        }
    }

    /// <summary>Sets (or replaces, keeping its position) a metadata value; the GGUF type follows the .NET type.</summary>
    public GgufWriter Set(string key, object value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(value);
        _ = TypeOf(value, key); // validate now, not at write time
        if (key == "general.alignment" && value is not (uint or int or ulong or long or ushort or short or byte or sbyte))
            throw new ArgumentException("general.alignment must be an integer (GGUF stores it as uint32).", nameof(value));
        int i = _metadata.FindIndex(kv => kv.Key == key);
        if (i >= 0) _metadata[i] = new(key, value);
        else _metadata.Add(new(key, value));
        if (key == "general.alignment") _ = Alignment;
        return this;
    }

    /// <summary>Adds a tensor whose bytes are already in memory.</summary>
    public GgufWriter AddTensor(string name, GgmlType type, long[] shape, ReadOnlyMemory<byte> data)
    {
        long size = ByteSizeOf(name, type, shape);
        if (data.Length != size)
            throw new ArgumentException($"Tensor '{name}' ({type} [{string.Join(", ", shape)}]) needs {size} bytes, got {data.Length}.", nameof(data));
        return Add(new PendingTensor(name, type, (long[])shape.Clone(), size, s => s.Write(data.Span)));
    }

    /// <summary>
    /// Adds a tensor whose bytes are produced at write time (so a converter need not hold every tensor in memory).
    /// The callback must write exactly the tensor's byte size.
    /// </summary>
    public GgufWriter AddTensor(string name, GgmlType type, long[] shape, Action<Stream> writeData)
    {
        ArgumentNullException.ThrowIfNull(writeData);
        long size = ByteSizeOf(name, type, shape);
        return Add(new PendingTensor(name, type, (long[])shape.Clone(), size, writeData));
    }

    public void Write(string path) => AtomicFile.Write(path, Write);

    public void Write(Stream destination)
    {
        long alignment = Alignment;
        var stream = new CountingStream(destination);
        void U32(uint v) => WritePrimitive(stream, v);
        void U64(ulong v) => WritePrimitive(stream, v);

        U32(GgufFile.Magic);
        U32(3);
        U64((ulong)_tensors.Count);
        U64((ulong)_metadata.Count);
        foreach (var (key, value) in _metadata)
        {
            WriteString(stream, key);
            var type = TypeOf(value, key);
            WriteU32(stream, (uint)type);
            WriteValue(stream, type, value, key);
        }

        long offset = 0;
        var offsets = new long[_tensors.Count];
        for (int i = 0; i < _tensors.Count; i++)
        {
            var t = _tensors[i];
            offsets[i] = offset;
            WriteString(stream, t.Name);
            U32((uint)t.Shape.Length);
            foreach (long d in t.Shape) U64((ulong)d);
            U32((uint)t.Type);
            U64((ulong)offset);
            offset = AlignUp(offset + t.ByteSize, alignment);
        }
        Pad(stream, alignment);

        long dataStart = stream.Count;
        for (int i = 0; i < _tensors.Count; i++)
        {
            var t = _tensors[i];
            long before = stream.Count;
            t.WriteData(stream);
            long written = stream.Count - before;
            if (written != t.ByteSize)
                throw new InvalidOperationException($"The data callback of tensor '{t.Name}' wrote {written} bytes, expected {t.ByteSize}.");
            Pad(stream, alignment);
            System.Diagnostics.Debug.Assert(i + 1 == _tensors.Count || stream.Count - dataStart == offsets[i + 1]);
        }
    }

    private GgufWriter Add(PendingTensor t)
    {
        if (!_tensorNames.Add(t.Name)) throw new ArgumentException($"Tensor '{t.Name}' was added twice.", nameof(t));
        _tensors.Add(t);
        return this;
    }

    private static long ByteSizeOf(string name, GgmlType type, long[] shape)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (!GgmlTypeInfo.IsKnown(type)) throw new ArgumentException($"Tensor '{name}': ggml type {type} has no known block layout.", nameof(type));
        if (shape.Length is 0 or > 4) throw new ArgumentException($"Tensor '{name}' has {shape.Length} dimensions; GGUF allows 1 to 4.", nameof(shape));
        if (shape.Any(d => d <= 0)) throw new ArgumentException($"Tensor '{name}' has a dimension below 1: [{string.Join(", ", shape)}].", nameof(shape));
        long rows = shape.Skip(1).Aggregate(1L, (a, b) => checked(a * b));
        return checked(GgmlTypeInfo.RowBytes(type, shape[0]) * rows);
    }

    private static long AlignUp(long n, long alignment) => (n + alignment - 1) / alignment * alignment;

    private static void Pad(CountingStream stream, long alignment)
    {
        long padding = AlignUp(stream.Count, alignment) - stream.Count;
        for (long i = 0; i < padding; i++) stream.WriteByte(0);
    }

    private static GgufValueType TypeOf(object value, string key) => value switch
    {
        byte => GgufValueType.UInt8,
        sbyte => GgufValueType.Int8,
        ushort => GgufValueType.UInt16,
        short => GgufValueType.Int16,
        uint => GgufValueType.UInt32,
        int => GgufValueType.Int32,
        float => GgufValueType.Float32,
        bool => GgufValueType.Bool,
        string => GgufValueType.String,
        ulong => GgufValueType.UInt64,
        long => GgufValueType.Int64,
        double => GgufValueType.Float64,
        Array a => CheckArray(a, key),
        _ => throw new ArgumentException($"Metadata '{key}': values of type {value.GetType().Name} cannot be stored in GGUF.", nameof(value)),
    };

    private static GgufValueType CheckArray(Array array, string key)
    {
        ElementTypeOf(array, key); // throws for element types GGUF cannot store
        return GgufValueType.Array;
    }

    private static GgufValueType ElementTypeOf(Array array, string key)
    {
        var t = array.GetType().GetElementType()!;
        if (t == typeof(object))
        {
            // Nested arrays: the reader gives object[] whose items are arrays (each with its own element type).
            foreach (var item in array)
                if (item is not Array inner) throw new ArgumentException($"Metadata '{key}': an object[] may only hold arrays (nested GGUF arrays).");
                else ElementTypeOf(inner, key);
            return GgufValueType.Array;
        }
        if (t == typeof(string)) return GgufValueType.String;
        if (t == typeof(byte)) return GgufValueType.UInt8;
        if (t == typeof(sbyte)) return GgufValueType.Int8;
        if (t == typeof(ushort)) return GgufValueType.UInt16;
        if (t == typeof(short)) return GgufValueType.Int16;
        if (t == typeof(uint)) return GgufValueType.UInt32;
        if (t == typeof(int)) return GgufValueType.Int32;
        if (t == typeof(float)) return GgufValueType.Float32;
        if (t == typeof(bool)) return GgufValueType.Bool;
        if (t == typeof(ulong)) return GgufValueType.UInt64;
        if (t == typeof(long)) return GgufValueType.Int64;
        if (t == typeof(double)) return GgufValueType.Float64;
        throw new ArgumentException($"Metadata '{key}': arrays of {t.Name} cannot be stored in GGUF.");
    }

    private static void WriteValue(Stream s, GgufValueType type, object value, string key)
    {
        switch (value)
        {
            case byte v: s.WriteByte(v); break;
            case sbyte v: s.WriteByte((byte)v); break;
            case ushort v: WritePrimitive(s, v); break;
            case short v: WritePrimitive(s, v); break;
            case uint v: WritePrimitive(s, v); break;
            case int v: WritePrimitive(s, v); break;
            case float v: WritePrimitive(s, v); break;
            case bool v: s.WriteByte(v ? (byte)1 : (byte)0); break;
            case string v: WriteString(s, v); break;
            case ulong v: WritePrimitive(s, v); break;
            case long v: WritePrimitive(s, v); break;
            case double v: WritePrimitive(s, v); break;
            case Array a:
            {
                var elem = ElementTypeOf(a, key);
                WriteU32(s, (uint)elem);
                WritePrimitive(s, (ulong)a.LongLength);
                foreach (var item in a) WriteValue(s, elem, item!, key);
                break;
            }
            default: throw new ArgumentException($"Metadata '{key}': cannot write {type}.");
        }
    }

    // Files are little-endian, as is every platform .NET runs this on.
    private static void WritePrimitive<T>(Stream s, T value) where T : unmanaged =>
        s.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value)));

    private static void WriteU32(Stream s, uint v) => WritePrimitive(s, v);

    private static void WriteString(Stream s, string v)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(v);
        WritePrimitive(s, (ulong)bytes.Length);
        s.Write(bytes);
    }

    /// <summary>Counts bytes written so offsets and padding need no seekable stream.</summary>
    private sealed class CountingStream(Stream inner) : Stream
    {
        public long Count { get; private set; }
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => Count;
        public override long Position { get => Count; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) { inner.Write(buffer, offset, count); Count += count; }
        public override void Write(ReadOnlySpan<byte> buffer) { inner.Write(buffer); Count += buffer.Length; }
        public override void WriteByte(byte value) { inner.WriteByte(value); Count++; }
    }
}
