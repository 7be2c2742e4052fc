using Scion.Training.Autograd;
using Scion.Training.Tests.Autograd.Reference;
using static Scion.Training.Tests.Autograd.GradCheck;

namespace Scion.Training.Tests.Autograd;

public class AttentionGradientTests
{
    private static readonly Xoshiro256 Rng = new(31);

    [Fact]
    public void PackedGqaAttention()
    {
        // Three sequences of 3, 1 and 4 tokens; 4 query heads over 2 KV heads, head size 4.
        var seqIds = Tape.SequenceIdsFromLengths([3, 1, 4]);
        Check([new("q", Random(Rng, 8 * 16, 2f), [8, 16]), new("k", Random(Rng, 8 * 8, 2f), [8, 8]), new("v", Random(Rng, 8 * 8), [8, 8])],
            (t, x) => t.CausalAttention(x[0], x[1], x[2], seqIds, 4, 2),
            d => RefOps.Attention(d[0], d[1], d[2], seqIds, 4, 2));
    }

    [Fact]
    public void MultiHeadAttentionWithoutGrouping()
    {
        var seqIds = new int[6];
        Check([new("q", Random(Rng, 6 * 6), [6, 6]), new("k", Random(Rng, 6 * 6), [6, 6]), new("v", Random(Rng, 6 * 6), [6, 6])],
            (t, x) => t.CausalAttention(x[0], x[1], x[2], seqIds, 3, 3),
            d => RefOps.Attention(d[0], d[1], d[2], seqIds, 3, 3));
    }

    [Fact]
    public void PackingMatchesSeparateSequences()
    {
        var q = Random(Rng, 5 * 8);
        var k = Random(Rng, 5 * 4);
        var v = Random(Rng, 5 * 4);
        var packed = new Tape().CausalAttention(new(q, 5, 8), new(k, 5, 4), new(v, 5, 4), [7, 7, 9, 9, 9], 2, 1);
        var second = new Tape().CausalAttention(new(q[16..], 3, 8), new(k[8..], 3, 4), new(v[8..], 3, 4), [0, 0, 0], 2, 1);
        Assert.Equal(second.Data, packed.Data[16..]);
    }

    [Fact]
    public void RejectsNonContiguousSequences()
    {
        var x = new Tensor(new float[3 * 4], 3, 4);
        Assert.Throws<ArgumentException>(() => new Tape().CausalAttention(x, x, x, [0, 1, 0], 1, 1));
    }
}
