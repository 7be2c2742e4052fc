namespace Scion.Tensors.Quant;

/// <summary>
/// Byte layouts of the ggml blocks, exactly as GGUF files store them (little-endian, no padding):
/// <code>
/// Q8_0 [34]  : f16 d | i8 qs[32]                         value = qs[i]*d
/// Q4_0 [18]  : f16 d | u8 qs[16]                         value = (nibble-8)*d; low nibbles are elements 0..15, high 16..31
/// Q4_K [144] : f16 d | f16 dmin | u8 scales[12] | u8 qs[128]
///              8 sub-blocks of 32 with 6-bit scale/min packed in scales (see <see cref="BlockLayout.ScaleMinK4"/>);
///              qs: 4 chunks of 32 bytes, each holding sub-block 2c in low nibbles and 2c+1 in high nibbles
///              value = d*scale*q - dmin*min
/// Q6_K [210] : u8 ql[128] | u8 qh[64] | i8 scales[16] | f16 d      value = d*scales[g]*(q-32), q = 4 low + 2 high bits
/// Q8_K [292] : f32 d | i8 qs[256] | i16 bsums[16]         activations only; bsums[g] = sum of qs[16g..16g+15]
/// </code>
/// </summary>
public static class BlockLayout
{
    public const int QK = 32;
    public const int QKK = 256;

    public const int Q8_0Bytes = 34;
    public const int Q4_0Bytes = 18;
    public const int Q4_KBytes = 144;
    public const int Q6_KBytes = 210;
    public const int Q8_KBytes = 292;

    public const int Q4_KScales = 4;
    public const int Q4_KQs = 16;
    public const int Q6_KQh = 128;
    public const int Q6_KScales = 192;
    public const int Q6_KD = 208;
    public const int Q8_KQs = 4;
    public const int Q8_KBsums = 260;

    /// <summary>Unpacks the 6-bit scale and min of sub-block <paramref name="j"/> (0..7) from the 12 packed bytes:
    /// sub-blocks 0..3 sit in the low 6 bits of bytes j and j+4; 4..7 keep their low 4 bits in byte j+4 and their
    /// top 2 bits in the spare high bits of bytes j-4 (scale) and j (min).</summary>
    public static unsafe void ScaleMinK4(int j, byte* q, out int scale, out int min)
    {
        if (j < 4)
        {
            scale = q[j] & 63;
            min = q[j + 4] & 63;
        }
        else
        {
            scale = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
            min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
        }
    }
}
