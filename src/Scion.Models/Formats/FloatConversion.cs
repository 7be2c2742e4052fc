using System.Buffers.Binary;
using Scion.Tensors;

namespace Scion.Models.Formats;

/// <summary>Widens stored F32/F16/BF16 little-endian values to fp32 (for small tensors such as adapters; weights stay mapped).</summary>
public static class FloatConversion
{
    public static float[] ToFloat32(ReadOnlySpan<byte> bytes, GgmlType type, string what)
    {
        int size = type switch
        {
            GgmlType.F32 => 4,
            GgmlType.F16 or GgmlType.BF16 => 2,
            _ => throw new ModelFormatException($"{what}: type {type} cannot be read as floats (expected F32, F16 or BF16)."),
        };
        if (bytes.Length % size != 0)
            throw new ModelFormatException($"{what}: {bytes.Length} bytes is not a whole number of {type} values.");
        var result = new float[bytes.Length / size];
        for (int i = 0; i < result.Length; i++)
        {
            var b = bytes.Slice(i * size, size);
            result[i] = type switch
            {
                GgmlType.F32 => BinaryPrimitives.ReadSingleLittleEndian(b),
                GgmlType.F16 => (float)BinaryPrimitives.ReadHalfLittleEndian(b),
                // BF16 is the top half of an fp32, so widening is a shift.
                _ => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(b) << 16),
            };
        }
        return result;
    }

    public static byte[] ToBytes(ReadOnlySpan<float> values)
    {
        var result = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(result.AsSpan(i * 4), values[i]);
        return result;
    }
}
