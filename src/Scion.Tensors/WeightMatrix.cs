using System.Runtime.InteropServices;

namespace Scion.Tensors;

/// <summary>
/// A row-major weight [rows = out features, cols = in features] stored as <see cref="Type"/> at <see cref="Data"/>;
/// each row is <see cref="RowBytes"/> bytes. A view: it owns nothing, the memory (a mapped file, a
/// <see cref="WeightBuffer"/>, a pinned array) must outlive it.
/// </summary>
public readonly unsafe struct WeightMatrix
{
    public readonly byte* Data;     // [rows, RowBytes]
    public readonly GgmlType Type;
    public readonly int Rows;
    public readonly int Cols;
    public readonly long RowBytes;
    /// <summary>The same weights repacked for the 8-row kernels (see <see cref="Packed.PackedWeights"/>), or null.
    /// Owned by that object, which must outlive every view carrying the pointer.</summary>
    public readonly byte* Packed;

    public WeightMatrix(byte* data, GgmlType type, int rows, int cols)
    {
        if (data == null) throw new ArgumentNullException(nameof(data));
        if (rows <= 0 || cols <= 0) throw new ArgumentOutOfRangeException(nameof(rows), $"Weight shape [{rows}, {cols}] must be positive.");
        if (!GgmlTypeInfo.IsSupportedForCompute(type)) throw new NotSupportedException($"Weights of type {type} cannot be multiplied.");
        Data = data;
        Type = type;
        Rows = rows;
        Cols = cols;
        RowBytes = GgmlTypeInfo.RowBytes(type, cols);
        Packed = null;
    }

    private WeightMatrix(in WeightMatrix w, byte* packed)
    {
        this = w;
        Packed = packed;
    }

    /// <summary>This view with <paramref name="packed"/>'s copy attached: <see cref="MatMul"/> multiplies through it
    /// where the kernel level supports it; row reads (embeddings, training) keep using <see cref="Data"/>.</summary>
    public WeightMatrix WithPacked(Packed.PackedWeights packed)
    {
        ArgumentNullException.ThrowIfNull(packed);
        if (packed.Type != Type || packed.Rows != Rows || packed.Cols != Cols)
            throw new ArgumentException($"Packed weights [{packed.Rows}, {packed.Cols}] {packed.Type} do not match the matrix [{Rows}, {Cols}] {Type}.");
        return new WeightMatrix(this, packed.Data);
    }

    /// <summary>Total bytes of the matrix.</summary>
    public long ByteCount => RowBytes * Rows;

    public byte* RowPointer(int r)
    {
        if ((uint)r >= (uint)Rows) throw new ArgumentOutOfRangeException(nameof(r), $"Row {r} is outside [0, {Rows}).");
        return Data + r * RowBytes;
    }

    public ReadOnlySpan<byte> RowSpan(int r) => new(RowPointer(r), checked((int)RowBytes));

    /// <summary>A view of fp32 values that the caller keeps pinned (a <c>fixed</c> block, <c>GC.AllocateArray(pinned: true)</c>).</summary>
    public static WeightMatrix FromPinnedFloats(float* values, int rows, int cols) => new((byte*)values, GgmlType.F32, rows, cols);
}

/// <summary>Owned native memory holding a weight matrix (64-byte aligned); for tests, adapters and converted weights.</summary>
public sealed unsafe class WeightBuffer : IDisposable
{
    private byte* _data;

    public WeightBuffer(GgmlType type, int rows, int cols)
    {
        long bytes = GgmlTypeInfo.RowBytes(type, cols) * rows;
        _data = (byte*)NativeMemory.AlignedAlloc((nuint)Math.Max(bytes, 1), 64);
        new Span<byte>(_data, checked((int)bytes)).Clear();
        Matrix = new WeightMatrix(_data, type, rows, cols);
    }

    /// <summary>Stores <paramref name="values"/> [rows, cols] as <paramref name="type"/> (quantizing each row).</summary>
    public static WeightBuffer FromFloats(ReadOnlySpan<float> values, int rows, int cols, GgmlType type = GgmlType.F32)
    {
        if (values.Length < (long)rows * cols) throw new ArgumentException($"Need {(long)rows * cols} values for [{rows}, {cols}], got {values.Length}.");
        var buffer = new WeightBuffer(type, rows, cols);
        for (int r = 0; r < rows; r++)
            Quantize.Row(type, values.Slice(r * cols, cols), new Span<byte>(buffer.Matrix.Data + r * buffer.Matrix.RowBytes, (int)buffer.Matrix.RowBytes));
        return buffer;
    }

    /// <summary>Copies stored rows as they are (e.g. blocks read from a file).</summary>
    public static WeightBuffer FromBytes(ReadOnlySpan<byte> stored, GgmlType type, int rows, int cols)
    {
        var buffer = new WeightBuffer(type, rows, cols);
        if (stored.Length < buffer.Matrix.ByteCount) throw new ArgumentException($"[{rows}, {cols}] {type} needs {buffer.Matrix.ByteCount} bytes, got {stored.Length}.");
        stored[..(int)buffer.Matrix.ByteCount].CopyTo(new Span<byte>(buffer.Matrix.Data, (int)buffer.Matrix.ByteCount));
        return buffer;
    }

    public WeightMatrix Matrix { get; }

    public Span<byte> Bytes => new(_data, checked((int)Matrix.ByteCount));

    public void Dispose()
    {
        if (_data != null)
        {
            NativeMemory.AlignedFree(_data);
            _data = null;
        }
        GC.SuppressFinalize(this);
    }

    ~WeightBuffer() => Dispose();
}
