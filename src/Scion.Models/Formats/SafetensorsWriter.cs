using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Scion.Tensors;

namespace Scion.Models.Formats;

/// <summary>
/// Builds a safetensors file: add tensors (PyTorch-order shapes) and <c>__metadata__</c> strings, then
/// <see cref="Write"/> it atomically. The header is padded with spaces so the data section starts at a multiple
/// of 8 bytes, as the reference writer does, which keeps 8-byte dtypes aligned within the mapping.
/// </summary>
public sealed class SafetensorsWriter
{
    private readonly List<(string Name, string DType, long[] Shape, byte[] Data)> _tensors = [];
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    public Dictionary<string, string> Metadata { get; } = new(StringComparer.Ordinal);

    public SafetensorsWriter AddTensor(string name, string dtype, long[] shape, byte[] data)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name == SafetensorsFile.MetadataKey) throw new ArgumentException($"'{name}' is reserved for metadata.", nameof(name));
        int size = SafetensorsDType.ElementSize(dtype);
        if (size < 0) throw new ArgumentException($"Unknown safetensors dtype '{dtype}'.", nameof(dtype));
        if (shape.Any(d => d < 0)) throw new ArgumentException($"Tensor '{name}' has a negative dimension.", nameof(shape));
        long expected = shape.Aggregate(1L, (a, b) => checked(a * b)) * size;
        if (data.Length != expected)
            throw new ArgumentException($"Tensor '{name}' ({dtype} [{string.Join(", ", shape)}]) needs {expected} bytes, got {data.Length}.", nameof(data));
        if (!_names.Add(name)) throw new ArgumentException($"Tensor '{name}' was added twice.", nameof(name));
        _tensors.Add((name, dtype, (long[])shape.Clone(), data));
        return this;
    }

    public SafetensorsWriter AddTensor(string name, GgmlType type, long[] shape, byte[] data) =>
        AddTensor(name, SafetensorsDType.FromGgmlType(type), shape, data);

    public SafetensorsWriter AddFloat32(string name, long[] shape, ReadOnlySpan<float> values) =>
        AddTensor(name, "F32", shape, FloatConversion.ToBytes(values));

    public void Write(string path) => AtomicFile.Write(path, Write);

    public void Write(Stream stream)
    {
        byte[] header = BuildHeader();
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        stream.Write(length);
        stream.Write(header);
        foreach (var t in _tensors) stream.Write(t.Data);
    }

    private byte[] BuildHeader()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (Metadata.Count > 0)
            {
                json.WriteStartObject(SafetensorsFile.MetadataKey);
                foreach (var (k, v) in Metadata) json.WriteString(k, v);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var t in _tensors)
            {
                json.WriteStartObject(t.Name);
                json.WriteString("dtype", t.DType);
                json.WriteStartArray("shape");
                foreach (long d in t.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + t.Data.Length);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += t.Data.Length;
            }
            json.WriteEndObject();
        }
        int padding = (int)((8 - (8 + buffer.Length) % 8) % 8);
        for (int i = 0; i < padding; i++) buffer.WriteByte((byte)' ');
        return buffer.ToArray();
    }
}
