using Scion.Tensors;

namespace Scion.Models.Formats;

/// <summary>A tensor of a Hugging Face folder: its entry and the (shard) file that maps its bytes.</summary>
public sealed unsafe record HfTensor(SafetensorsFile File, SafetensorsTensorInfo Info)
{
    public string Name => Info.Name;
    /// <summary>F32, F16 or BF16; throws naming the tensor for other dtypes.</summary>
    public GgmlType Type => Info.Type;
    /// <summary>PyTorch order ([out, in] for a Linear weight).</summary>
    public long[] Shape => Info.Shape;
    public byte* Data => File.TensorData(Info);
    public ReadOnlySpan<byte> Bytes => File.TensorBytes(Info);
    public float[] ReadFloat32() => File.ReadFloat32(Info);

    // The generated members would touch Info.Type, which throws for unsupported dtypes.
    public override string ToString() => $"{Info} in {File.Path}";
}
