using Scion.Tensors;

namespace Scion.Models.Llama;

/// <summary>
/// Tensors held in pinned managed arrays: models built in code (tests, `scion create`) and weights derived at
/// run time (a PiSSA residual) use the same model code as mapped files.
/// </summary>
public sealed unsafe class InMemoryTensorSource(string path = "<memory>") : ITensorSource
{
    private readonly Dictionary<string, (byte[] Bytes, GgmlType Type, long[] Shape)> _tensors = new(StringComparer.Ordinal);

    public string Path { get; } = path;
    public IEnumerable<string> Names => _tensors.Keys;

    /// <summary>Adds stored bytes of a tensor; shape in ggml order (row length first).</summary>
    public void Add(string name, GgmlType type, long[] shape, ReadOnlySpan<byte> data)
    {
        long rows = shape.Skip(1).Aggregate(1L, (a, b) => a * b);
        long bytes = rows * GgmlTypeInfo.RowBytes(type, shape[0]);
        if (data.Length != bytes) throw new ArgumentException($"Tensor '{name}': {data.Length} bytes given, {bytes} expected for {type} [{string.Join(", ", shape)}].");
        var pinned = GC.AllocateUninitializedArray<byte>(data.Length, pinned: true);
        data.CopyTo(pinned);
        _tensors[name] = (pinned, type, shape);
    }

    /// <summary>Adds fp32 values stored as <paramref name="type"/>; shape in ggml order.</summary>
    public void AddFloats(string name, ReadOnlySpan<float> values, GgmlType type, params long[] shape)
    {
        long cols = shape[0];
        long rows = values.Length / cols;
        var bytes = new byte[rows * GgmlTypeInfo.RowBytes(type, cols)];
        int rowBytes = (int)GgmlTypeInfo.RowBytes(type, cols);
        for (int r = 0; r < rows; r++)
            Quantize.Row(type, values.Slice((int)(r * cols), (int)cols), bytes.AsSpan(r * rowBytes, rowBytes));
        Add(name, type, shape, bytes);
    }

    public bool TryGet(string slotName, out TensorView view)
    {
        if (!_tensors.TryGetValue(slotName, out var t))
        {
            view = default;
            return false;
        }
        view = new TensorView(slotName, (byte*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref t.Bytes[0]), t.Type, t.Shape);
        return true;
    }

    public void Dispose() { }
}
