using Scion.Tensors;

namespace Scion.Models.Formats;

/// <summary>One tensor's entry in a safetensors header.</summary>
/// <remarks>
/// Not a record: <see cref="Type"/> throws for dtypes Scion does not read, and a record's generated
/// ToString/Equals would call it.
/// </remarks>
public sealed class SafetensorsTensorInfo
{
    public SafetensorsTensorInfo(string name, string dtype, long[] shape, long offset, long byteSize, string source)
    {
        Name = name;
        DType = dtype;
        Shape = shape;
        Offset = offset;
        ByteSize = byteSize;
        Source = source;
    }

    public string Name { get; }
    /// <summary>The dtype name as stored ("F32", "BF16", "I64" ...).</summary>
    public string DType { get; }
    /// <summary>PyTorch order: Shape[^1] varies fastest, so a Linear weight is [out, in]. Empty for a scalar.</summary>
    public long[] Shape { get; }
    /// <summary>Offset from the start of the data section (the first data_offsets entry).</summary>
    public long Offset { get; }
    public long ByteSize { get; }
    /// <summary>The file this entry came from, for error messages.</summary>
    public string Source { get; }

    public bool IsSupported => SafetensorsDType.IsSupported(DType);

    /// <summary>F32, F16 or BF16; throws naming the tensor for any other dtype.</summary>
    public GgmlType Type => SafetensorsDType.ToGgmlType(DType)
        ?? throw new ModelFormatException($"{Source}: tensor '{Name}' has dtype {DType}, which is not supported (expected F32, F16 or BF16).");

    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>Shape in ggml order (fastest-varying first), as GGUF and the kernels describe tensors.</summary>
    public long[] GgmlShape => Shape.Reverse().ToArray();

    public override string ToString() => $"{Name} {DType} [{string.Join(", ", Shape)}]";
}
