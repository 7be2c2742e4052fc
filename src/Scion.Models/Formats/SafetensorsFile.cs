using System.Buffers.Binary;
using System.Text.Json;

namespace Scion.Models.Formats;

/// <summary>
/// A safetensors file, memory-mapped: 8-byte little-endian header length, a JSON header that maps tensor names to
/// dtype, shape and data_offsets (relative to the data section right after the header), then the raw data.
/// The header is validated as a whole on open; tensor data stays in the mapping.
/// </summary>
public sealed unsafe class SafetensorsFile : IDisposable
{
    /// <summary>The reference implementation refuses headers above 100 MB; so do we, before allocating anything.</summary>
    public const long MaxHeaderBytes = 100_000_000;
    public const string MetadataKey = "__metadata__";

    private readonly MappedFile _file;
    private readonly Dictionary<string, SafetensorsTensorInfo> _byName;

    public string Path => _file.Path;
    public long FileSize => _file.Length;
    /// <summary>File offset of the data section (8 + header length).</summary>
    public long DataOffset { get; }
    /// <summary>Tensors in header order.</summary>
    public IReadOnlyList<SafetensorsTensorInfo> Tensors { get; }
    /// <summary>The optional <c>__metadata__</c> string map (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    private SafetensorsFile(MappedFile file, long dataOffset, List<SafetensorsTensorInfo> tensors, Dictionary<string, string> metadata)
    {
        _file = file;
        DataOffset = dataOffset;
        Tensors = tensors;
        Metadata = metadata;
        _byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    public static SafetensorsFile Open(string path) => MappedFile.OpenAndParse(path, Parse);

    public SafetensorsTensorInfo? FindTensor(string name) => _byName.GetValueOrDefault(name);

    public SafetensorsTensorInfo RequireTensor(string name) =>
        FindTensor(name) ?? throw new ModelFormatException($"{Path}: tensor '{name}' is missing.");

    /// <summary>
    /// Pointer to a tensor's first byte. The format does not align data, so F32 values may sit at any address;
    /// x64 and Arm64 load unaligned values, and the kernels use unaligned loads.
    /// </summary>
    public byte* TensorData(SafetensorsTensorInfo info)
    {
        CheckReadable(info);
        return _file.Pointer + DataOffset + info.Offset;
    }

    public ReadOnlySpan<byte> TensorBytes(SafetensorsTensorInfo info)
    {
        CheckReadable(info);
        return _file.Span(DataOffset + info.Offset, info.ByteSize);
    }

    /// <summary>A copy of an F32/F16/BF16 tensor widened to fp32 (for small tensors: adapters, norms).</summary>
    public float[] ReadFloat32(SafetensorsTensorInfo info) =>
        FloatConversion.ToFloat32(TensorBytes(info), info.Type, $"{Path}: tensor '{info.Name}'");

    public void Dispose() => _file.Dispose();

    private void CheckReadable(SafetensorsTensorInfo info)
    {
        if (!_byName.TryGetValue(info.Name, out var own) || !ReferenceEquals(own, info))
            throw new ArgumentException($"Tensor '{info.Name}' does not belong to {Path}.", nameof(info));
        _ = info.Type; // throws, naming the tensor, for dtypes Scion does not read
    }

    private static SafetensorsFile Parse(MappedFile file)
    {
        string path = file.Path;
        if (file.Length < 8)
            throw new ModelFormatException($"{path}: file is {file.Length} bytes, too short for a safetensors header length (8 bytes).");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(file.Span(0, 8));
        if (headerLength < 2 || headerLength > MaxHeaderBytes)
            throw new ModelFormatException($"{path}: safetensors header length is {headerLength} bytes, expected 2 to {MaxHeaderBytes}; not a safetensors file or corrupt.");
        if ((long)headerLength > file.Length - 8)
            throw new ModelFormatException($"{path}: truncated file: the header needs {headerLength} bytes after the length field but the file has {file.Length - 8}.");
        long dataOffset = 8 + (long)headerLength;
        long dataLength = file.Length - dataOffset;

        var doc = JsonFields.Parse(file.Span(8, (long)headerLength).ToArray(), $"{path}: the safetensors header");

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new ModelFormatException($"{path}: the safetensors header is a JSON {doc.RootElement.ValueKind}, expected an object.");
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var tensors = new List<SafetensorsTensorInfo>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (!seen.Add(prop.Name))
                    throw new ModelFormatException($"{path}: header entry '{prop.Name}' appears twice.");
                if (prop.Name == MetadataKey)
                    ReadMetadata(path, prop.Value, metadata);
                else
                    tensors.Add(ReadTensor(path, prop.Name, prop.Value, dataLength));
            }
            CheckLayout(path, tensors, dataLength);
            return new SafetensorsFile(file, dataOffset, tensors, metadata);
        }
    }

    private static void ReadMetadata(string path, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind == JsonValueKind.Null) return;
        if (value.ValueKind != JsonValueKind.Object)
            throw new ModelFormatException($"{path}: {MetadataKey} is a JSON {value.ValueKind}, expected an object of strings.");
        foreach (var p in value.EnumerateObject())
            // The format says string values; a writer that put numbers there still wrote something readable.
            metadata[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText();
    }

    private static SafetensorsTensorInfo ReadTensor(string path, string name, JsonElement e, long dataLength)
    {
        string where = $"{path}: tensor '{name}'";
        if (e.ValueKind != JsonValueKind.Object)
            throw new ModelFormatException($"{where}: header entry is a JSON {e.ValueKind}, expected an object with dtype, shape and data_offsets.");

        if (!e.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw new ModelFormatException($"{where}: 'dtype' is missing or not a string.");
        string dtype = dtypeElement.GetString()!;
        int elementSize = SafetensorsDType.ElementSize(dtype);
        if (elementSize < 0)
            throw new ModelFormatException($"{where}: unknown dtype '{dtype}'.");

        if (!e.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
            throw new ModelFormatException($"{where}: 'shape' is missing or not an array.");
        var shape = new long[shapeElement.GetArrayLength()];
        int d = 0;
        foreach (var dim in shapeElement.EnumerateArray())
        {
            if (!TryGetInteger(dim, out long n) || n < 0)
                throw new ModelFormatException($"{where}: shape entry {d} is {dim.GetRawText()}, expected a non-negative integer.");
            shape[d++] = n;
        }
        // A zero anywhere makes an empty tensor, however large the other dimensions ([3, 4, 0] is legal and holds nothing).
        long elements = shape.Contains(0) ? 0 : 1;
        foreach (long n in shape)
        {
            if (elements == 0) break;
            // Compare before multiplying so a corrupt shape cannot overflow.
            if (elements > dataLength / n + 1)
                throw new ModelFormatException($"{where}: shape [{string.Join(", ", shape)}] holds more values than the file's {dataLength} data bytes.");
            elements *= n;
        }

        if (!e.TryGetProperty("data_offsets", out var offsetsElement) || offsetsElement.ValueKind != JsonValueKind.Array
            || offsetsElement.GetArrayLength() != 2)
            throw new ModelFormatException($"{where}: 'data_offsets' is missing or not an array of two integers.");
        if (!TryGetInteger(offsetsElement[0], out long begin) || !TryGetInteger(offsetsElement[1], out long end) || begin < 0 || end < begin)
            throw new ModelFormatException($"{where}: data_offsets {offsetsElement.GetRawText()} are not two integers with 0 <= begin <= end.");
        if (end > dataLength)
            throw new ModelFormatException($"{where}: data_offsets [{begin}, {end}] run past the end of the data section ({dataLength} bytes); the file is truncated or inconsistent.");
        long expected = elements * elementSize;
        if (end - begin != expected)
            throw new ModelFormatException($"{where}: data_offsets [{begin}, {end}] span {end - begin} bytes, but {dtype} [{string.Join(", ", shape)}] needs {expected}.");
        return new SafetensorsTensorInfo(name, dtype, shape, begin, expected, path);
    }

    // TryGetInt64 throws on non-numbers; a header is untrusted input, so check the kind first.
    private static bool TryGetInteger(JsonElement e, out long value)
    {
        value = 0;
        return e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out value);
    }

    /// <summary>
    /// The reference implementation's rule: sorted by offset, the tensors tile the data section exactly, with no
    /// overlap, no gap and nothing after the last one. A gap or trailing bytes mean a data_offsets entry does not
    /// describe the bytes it points at (a dtype or shape that changed without the data), so the tensors around it
    /// would be read from the wrong place.
    /// </summary>
    private static void CheckLayout(string path, List<SafetensorsTensorInfo> tensors, long dataLength)
    {
        SafetensorsTensorInfo? previous = null;
        long end = 0;
        foreach (var t in tensors.OrderBy(t => t.Offset).ThenBy(t => t.ByteSize))
        {
            if (t.Offset < end)
                throw new ModelFormatException(
                    $"{path}: tensors '{previous!.Name}' (bytes {previous.Offset}..{end}) and '{t.Name}' (bytes {t.Offset}..{t.Offset + t.ByteSize}) overlap.");
            if (t.Offset > end)
                throw new ModelFormatException(previous is null
                    ? $"{path}: tensor '{t.Name}' starts at data offset {t.Offset}, but the data section's first {t.Offset} bytes belong to no tensor; its data_offsets are wrong."
                    : $"{path}: the {t.Offset - end} bytes between tensor '{previous.Name}' (bytes {previous.Offset}..{end}) and tensor '{t.Name}' " +
                      $"(from {t.Offset}) belong to no tensor; the data_offsets of '{previous.Name}' or '{t.Name}' do not match their dtype and shape.");
            end = t.Offset + t.ByteSize;
            previous = t;
        }
        if (end != dataLength)
            throw new ModelFormatException(previous is null
                ? $"{path}: the header lists no tensor data, but {dataLength} bytes follow it."
                : $"{path}: the data section has {dataLength} bytes, but the tensors end at {end} (the last is '{previous.Name}'); " +
                  $"{dataLength - end} trailing bytes belong to no tensor, so a data_offsets entry is wrong or the file is corrupt.");
    }
}
