namespace Scion.Training.Autograd;

/// <summary>
/// A dense fp32 tensor in row-major order. Activations and trainable parameters are both
/// tensors; frozen base weights are not (they live behind <see cref="IFrozenWeight"/>), so
/// quantized, memory-mapped weights never need an fp32 copy.
/// </summary>
public sealed class Tensor
{
    public Tensor(float[] data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(shape);
        long count = 1;
        foreach (var d in shape)
        {
            if (d < 0) throw new ArgumentException($"Tensor shape [{string.Join(", ", shape)}] has a negative dimension.", nameof(shape));
            count *= d;
        }
        if (count != data.Length)
            throw new ArgumentException($"Tensor shape [{string.Join(", ", shape)}] holds {count} values but the data has {data.Length}.", nameof(data));
        Data = data;
        Shape = shape;
    }

    /// <summary>Values, row-major.</summary>
    public float[] Data { get; }

    public int[] Shape { get; }

    /// <summary>d(loss)/d(this), same layout as <see cref="Data"/>; null until backward reaches it.</summary>
    public float[]? Grad { get; set; }

    /// <summary>Leaves set this for trainable parameters; op outputs get it when an input has it.</summary>
    public bool RequiresGrad { get; set; }

    /// <summary>Optional label for error messages and checkpoints.</summary>
    public string? Name { get; set; }

    public int Length => Data.Length;

    /// <summary>First dimension (tokens for activations, output features for weights).</summary>
    public int Rows => Shape.Length == 0 ? 1 : Shape[0];

    /// <summary>Product of all dimensions but the first.</summary>
    public int Cols => Shape.Length == 0 || Shape[0] == 0 ? 0 : Data.Length / Shape[0];

    public static Tensor Zeros(params int[] shape)
    {
        long count = 1;
        foreach (var d in shape) count *= d;
        return new Tensor(ZeroedArray(count), shape);
    }

    /// <summary>
    /// A zeroed array whose pages are written once, in order, before any kernel reads them. A large new array is
    /// usually fresh memory from the OS that the GC does not clear: the first read maps the shared zero page and the
    /// first write faults again to replace it, and the worker threads of an accumulating product (c += a·b) took those
    /// faults together, contending for the page-table lock (half of a LoRA backward's time in one measurement).
    /// </summary>
    internal static float[] ZeroedArray(long count)
    {
        if (count < LargeArrayFloats) return new float[count];
        var a = GC.AllocateUninitializedArray<float>(checked((int)count));
        a.AsSpan().Clear();
        return a;
    }

    // Arrays from about this size live on the large-object heap, where fresh OS memory is handed out uncleared.
    private const long LargeArrayFloats = 85_000 / sizeof(float);

    /// <summary>A trainable leaf over <paramref name="data"/> (not copied).</summary>
    public static Tensor Parameter(float[] data, params int[] shape) => new(data, shape) { RequiresGrad = true };

    /// <summary>The gradient buffer, allocated as zeros on first use.</summary>
    public float[] EnsureGrad() => Grad ??= ZeroedArray(Data.Length);

    public void ZeroGrad()
    {
        if (Grad is not null) Array.Clear(Grad);
    }

    /// <summary>A view sharing <see cref="Data"/> that the tape treats as a constant.</summary>
    public Tensor Detach() => new(Data, Shape) { Name = Name };

    public override string ToString() => $"{Name ?? "tensor"}[{string.Join(", ", Shape)}]";
}
