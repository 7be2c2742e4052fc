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

public class BlockedAttentionTests
{
    private static readonly Xoshiro256 Rng = new(77);

    [Theory]
    // 70 + 100 tokens: several query blocks per sequence, a partial last block, GQA 4 over 2 (head size 4).
    [InlineData(70, 100, 4, 2, 4)]
    // Head size 16 and rows of 21-37 keys: 8 × 8 register transposes with tails, sixteen-lane softmax rows with tails.
    [InlineData(37, 21, 2, 1, 16)]
    public void SequencesLongerThanAQueryBlockAndWideHeads(int first, int second, int heads, int kvHeads, int headDim)
    {
        int[] seqIds = Tape.SequenceIdsFromLengths([first, second]);
        int t = seqIds.Length, qw = heads * headDim, kw = kvHeads * headDim;
        Check([new("q", Random(Rng, t * qw, 2f), [t, qw]), new("k", Random(Rng, t * kw, 2f), [t, kw]), new("v", Random(Rng, t * kw), [t, kw])],
            (tape, x) => tape.CausalAttention(x[0], x[1], x[2], seqIds, heads, kvHeads),
            d => RefOps.Attention(d[0], d[1], d[2], seqIds, heads, kvHeads), maxCheckedPerInput: 40);
    }

    [Fact]
    public void ResultsDoNotDependOnTheThreadCount()
    {
        int[] seqIds = Tape.SequenceIdsFromLengths([130, 5, 90]);
        int t = seqIds.Length;
        float[] q = Random(Rng, t * 32), k = Random(Rng, t * 16), v = Random(Rng, t * 16), g = Random(Rng, t * 32);
        (float[] Y, float[] Dq, float[] Dk, float[] Dv) Run(int threads)
        {
            using var pool = new Scion.Tensors.WorkerPool(threads);
            var tape = new Tape { Pool = pool };
            var tq = Tensor.Parameter((float[])q.Clone(), t, 32);
            var tk = Tensor.Parameter((float[])k.Clone(), t, 16);
            var tv = Tensor.Parameter((float[])v.Clone(), t, 16);
            var y = tape.CausalAttention(tq, tk, tv, seqIds, 4, 2);
            var yv = (float[])y.Data.Clone();
            tape.Backward(y, g);
            return (yv, tq.Grad!, tk.Grad!, tv.Grad!);
        }
        var one = Run(1);
        var three = Run(3);
        Assert.Equal(one.Y, three.Y);
        Assert.Equal(one.Dq, three.Dq);
        Assert.Equal(one.Dk, three.Dk);
        Assert.Equal(one.Dv, three.Dv);
    }
}
