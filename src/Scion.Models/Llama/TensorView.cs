using Scion.Tensors;

namespace Scion.Models.Llama;

/// <summary>A tensor inside a mapped model file. Shape is in ggml order: Shape[0] is the row length.</summary>
public readonly unsafe struct TensorView(string name, byte* data, GgmlType type, long[] shape)
{
    public string Name { get; } = name;
    public byte* Data { get; } = data;
    public GgmlType Type { get; } = type;
    public long[] Shape { get; } = shape;

    public long Cols => Shape[0];
    public long Rows => Shape.Length == 1 ? 1 : Shape.Skip(1).Aggregate(1L, (a, b) => a * b);
    public long ByteSize => Rows * GgmlTypeInfo.RowBytes(Type, Cols);

    public WeightMatrix AsMatrix() => new(Data, Type, checked((int)Rows), checked((int)Cols));

    /// <summary>Values as fp32 (norm weights and biases are small, so a copy is fine).</summary>
    public float[] ToFloats()
    {
        var result = new float[Rows * Cols];
        var m = AsMatrix();
        for (int r = 0; r < Rows; r++) Dequantize.Row(Type, m.RowSpan(r), result.AsSpan(r * (int)Cols, (int)Cols));
        return result;
    }
}

/// <summary>Where a model's tensors come from, addressed by GGUF slot names (see <see cref="TensorNames"/>).</summary>
public interface ITensorSource : IDisposable
{
    string Path { get; }
    bool TryGet(string slotName, out TensorView view);
}
