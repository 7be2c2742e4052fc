namespace Scion.Training.Autograd;

/// <summary>
/// SplitMix64 (Steele, Lea, Flood 2014): turns one 64-bit seed into well-mixed words, used to
/// fill the larger xoshiro state so that nearby seeds give unrelated streams.
/// </summary>
public struct SplitMix64
{
    public SplitMix64(ulong seed) => State = seed;

    public ulong State { get; private set; }

    public ulong Next()
    {
        State += 0x9E3779B97F4A7C15UL;
        ulong z = State;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
