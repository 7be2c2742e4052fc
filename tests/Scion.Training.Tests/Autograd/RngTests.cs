using Scion.Training.Autograd;

namespace Scion.Training.Tests.Autograd;

public class RngTests
{
    [Fact]
    public void Xoshiro256StarStarMatchesReferenceOutputs()
    {
        // Outputs of the reference C xoshiro256** from state {1, 2, 3, 4}.
        var rng = new Xoshiro256(new RngState(1, 2, 3, 4));
        Assert.Equal(11520UL, rng.NextUInt64());
        Assert.Equal(0UL, rng.NextUInt64());
        Assert.Equal(1509978240UL, rng.NextUInt64());
        Assert.Equal(1215971899390074240UL, rng.NextUInt64());
    }

    [Fact]
    public void SeedingGoesThroughSplitMix64()
    {
        var rng = new Xoshiro256(0);
        Assert.Equal(new RngState(0xE220A8397B1DCDAFUL, 0x6E789E6AA1B965F4UL, 0x06C45D188009454FUL, 0xF88BB8A8724C81ECUL), rng.GetState());
    }

    [Fact]
    public void StateRoundTripsThroughStream()
    {
        var rng = new Xoshiro256(42);
        for (int i = 0; i < 5; i++) rng.NextUInt64();
        using var stream = new MemoryStream();
        rng.Save(stream);
        var expected = Enumerable.Range(0, 8).Select(_ => rng.NextUInt64()).ToArray();
        stream.Position = 0;
        var restored = new Xoshiro256(1);
        restored.Load(stream);
        Assert.Equal(expected, Enumerable.Range(0, 8).Select(_ => restored.NextUInt64()).ToArray());
    }

    [Fact]
    public void RangesHold()
    {
        var rng = new Xoshiro256(3);
        var counts = new int[5];
        for (int i = 0; i < 5000; i++)
        {
            float f = rng.NextFloat();
            Assert.InRange(f, 0f, 0.99999995f);
            counts[rng.NextInt(5)]++;
        }
        Assert.All(counts, c => Assert.InRange(c, 800, 1200));
    }

    [Fact]
    public void ShuffleIsAPermutationAndSeeded()
    {
        int[] a = Enumerable.Range(0, 20).ToArray(), b = Enumerable.Range(0, 20).ToArray();
        new Xoshiro256(8).Shuffle<int>(a);
        new Xoshiro256(8).Shuffle<int>(b);
        Assert.Equal(a, b);
        Assert.NotEqual(Enumerable.Range(0, 20), a);
        Assert.Equal(Enumerable.Range(0, 20), a.Order());
    }

    [Fact]
    public void KaimingUniformLoraABoundIsOneOverSqrtFanIn()
    {
        var a = new float[4 * 64];
        Init.KaimingUniformLoraA(new Xoshiro256(1), a, 64);
        Assert.All(a, v => Assert.InRange(v, -0.125f, 0.125f));
        Assert.True(a.Max() > 0.11f && a.Min() < -0.11f);
    }
}
