namespace Scion.Serving.KvCache;

/// <summary>
/// The identity of a full KV block for prefix caching: a hash chaining the parent block's hash, the block's tokens
/// and the adapter (vLLM's block hash with the LoRA name among its extra keys), so equal hashes mean an equal whole
/// prefix under the same adapter, and two adapters never share a prefix. A 64-bit hash can collide, so a hit is
/// verified against the stored tokens, parent hash and adapter before it is trusted (nano-vllm does the same).
/// </summary>
internal static class BlockHash
{
    /// <summary>The parent hash of a sequence's first block.</summary>
    public const ulong Root = 0x6A09E667F3BCC908UL;

    public static ulong Of(ulong parent, ReadOnlySpan<int> tokens, string? adapter)
    {
        ulong h = Mix(parent ^ 0x9E3779B97F4A7C15UL);
        foreach (int t in tokens) h = Mix(h ^ (uint)t) + 0x9E3779B97F4A7C15UL;
        // Base model and adapters are told apart by a marker before the name, so "" and null differ too.
        if (adapter is null) return Mix(h ^ 0xB5UL);
        h = Mix(h ^ 0xADUL);
        foreach (char ch in adapter) h = Mix(h ^ ch) + 0x632BE59BD9B4E019UL;
        return Mix(h ^ (ulong)adapter.Length);
    }

    /// <summary>SplitMix64's finalizer: every input bit reaches every output bit.</summary>
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
