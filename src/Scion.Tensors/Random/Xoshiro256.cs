using System.Buffers.Binary;

namespace Scion.Tensors;

/// <summary>
/// xoshiro256** seeded through splitmix64: our own seeded generator so sampling, initialisation, dropout and shuffling
/// are reproducible across .NET versions (System.Random's algorithm is not a contract). State can be saved and
/// restored, which is what makes a resumed training run bit-identical to an uninterrupted one.
/// </summary>
public sealed class Xoshiro256
{
    private ulong _s0, _s1, _s2, _s3;

    public Xoshiro256(ulong seed)
    {
        ulong x = seed;
        _s0 = SplitMix(ref x); _s1 = SplitMix(ref x); _s2 = SplitMix(ref x); _s3 = SplitMix(ref x);
    }

    public Xoshiro256(RngState state) => SetState(state);

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0; _s3 ^= _s1; _s1 ^= _s2; _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 53 bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [0, 1) with 24 random bits (every value exactly representable).</summary>
    public float NextFloat() => (NextUInt64() >> 40) * (1f / (1 << 24));

    /// <summary>Uniform in [lo, hi).</summary>
    public float NextUniform(float lo, float hi) => lo + (hi - lo) * NextFloat();

    /// <summary>Uniform integer in [0, n) (multiply-shift on 32 bits; the bias is below 2⁻³² · n).</summary>
    public int NextInt(int n)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(n);
        return (int)((NextUInt64() >> 32) * (ulong)n >> 32);
    }

    /// <summary>Standard normal (Box–Muller).</summary>
    public double NextGaussian()
    {
        double u1 = 1.0 - NextDouble(), u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>Fisher–Yates shuffle in place.</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    public RngState GetState() => new(_s0, _s1, _s2, _s3);

    public void SetState(RngState state)
    {
        if ((state.S0 | state.S1 | state.S2 | state.S3) == 0)
            throw new ArgumentException("An all-zero xoshiro256 state never leaves zero.", nameof(state));
        (_s0, _s1, _s2, _s3) = (state.S0, state.S1, state.S2, state.S3);
    }

    /// <summary>Writes the 32-byte state (little-endian).</summary>
    public void Save(Stream stream)
    {
        Span<byte> buffer = stackalloc byte[32];
        BinaryPrimitives.WriteUInt64LittleEndian(buffer, _s0);
        BinaryPrimitives.WriteUInt64LittleEndian(buffer[8..], _s1);
        BinaryPrimitives.WriteUInt64LittleEndian(buffer[16..], _s2);
        BinaryPrimitives.WriteUInt64LittleEndian(buffer[24..], _s3);
        stream.Write(buffer);
    }

    /// <summary>Reads a state written by <see cref="Save"/>.</summary>
    public void Load(Stream stream)
    {
        Span<byte> buffer = stackalloc byte[32];
        stream.ReadExactly(buffer);
        SetState(new RngState(
            BinaryPrimitives.ReadUInt64LittleEndian(buffer),
            BinaryPrimitives.ReadUInt64LittleEndian(buffer[8..]),
            BinaryPrimitives.ReadUInt64LittleEndian(buffer[16..]),
            BinaryPrimitives.ReadUInt64LittleEndian(buffer[24..])));
    }
}
