namespace Scion.Models.Tokenization;

/// <summary>
/// Hashing for the (left, right) pairs packed into a long that BPE looks up once per candidate merge. long's own
/// hash folds the halves with XOR, so every pair of equal halves — (a, a), (Ġ, Ġ), (aa, aa)... — hashed to 0 and
/// pairs with equal left ^ right shared a bucket: a run of one repeated character walked a chain of hundreds of
/// keys per lookup, which is what made a 4 MB line of one letter take 10 s. A multiplicative mix spreads them.
/// </summary>
internal sealed class PairKeyComparer : IEqualityComparer<long>
{
    public static readonly PairKeyComparer Instance = new();

    public bool Equals(long x, long y) => x == y;

    public int GetHashCode(long key)
    {
        ulong h = (ulong)key * 0x9E3779B97F4A7C15UL; // Fibonacci hashing: the high bits depend on every input bit
        return (int)(h >> 32) ^ (int)h;
    }
}
