using System.Buffers.Binary;
using System.Numerics;

namespace Scion.Training.Autograd;

/// <summary>The four words of a <see cref="Xoshiro256"/> generator; saving them resumes the stream exactly.</summary>
public readonly record struct RngState(ulong S0, ulong S1, ulong S2, ulong S3);

/// <summary>
/// xoshiro256** (Blackman, Vigna 2018) seeded through SplitMix64: the project's one RNG for
/// initialisation, dropout and shuffling, so runs and resumed runs are reproducible bit for bit
/// (System.Random's algorithm is not specified across .NET versions).
/// </summary>
public sealed class Xoshiro256
{
    private ulong _s0, _s1, _s2, _s3;

    public Xoshiro256(ulong seed)
    {
        var mix = new SplitMix64(seed);
        _s0 = mix.Next();
        _s1 = mix.Next();
        _s2 = mix.Next();
        _s3 = mix.Next();
    }

    public Xoshiro256(RngState state) => SetState(state);

    public RngState GetState() => new(_s0, _s1, _s2, _s3);

    public void SetState(RngState state)
    {
        if ((state.S0 | state.S1 | state.S2 | state.S3) == 0)
            throw new ArgumentException("An all-zero xoshiro256 state never leaves zero.", nameof(state));
        (_s0, _s1, _s2, _s3) = (state.S0, state.S1, state.S2, state.S3);
    }

    public ulong NextUInt64()
    {
        ulong result = BitOperations.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = BitOperations.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 24 random bits (every value exactly representable).</summary>
    public float NextFloat() => (NextUInt64() >> 40) * (1f / (1 << 24));

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [lo, hi).</summary>
    public float NextUniform(float lo, float hi) => lo + (hi - lo) * NextFloat();

    /// <summary>Uniform integer in [0, maxExclusive), unbiased (Lemire's multiply-and-reject).</summary>
    public int NextInt(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxExclusive);
        ulong range = (ulong)maxExclusive;
        ulong threshold = (0UL - range) % range;
        while (true)
        {
            ulong high = Math.BigMul(NextUInt64(), range, out ulong low);
            if (low >= threshold) return (int)high;
        }
    }

    /// <summary>Standard normal sample (Box–Muller; one of the pair is discarded so the state stays simple).</summary>
    public double NextGaussian()
    {
        double u1 = 1.0 - NextDouble(); // (0, 1]: log stays finite
        double u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
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
