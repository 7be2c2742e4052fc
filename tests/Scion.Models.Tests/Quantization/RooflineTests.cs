using Scion.Models.Bench;
using Scion.Tensors;

namespace Scion.Models.Tests.Quantization;

/// <summary>The roofline kernels against their scalar twins, and the benchmark cost model on a known shape.</summary>
public unsafe class RooflineTests
{
    [Fact]
    public void VectorSumMatchesScalar()
    {
        var data = Enumerable.Range(0, 1000).Select(i => (i % 7) * 0.25f).ToArray(); // exact in fp32 in any order
        fixed (float* p = data)
            foreach (int n in new[] { 0, 1, 31, 64, 100, 1000 })
                Assert.Equal(Roofline.SumScalar(p, n), Roofline.Sum(p, n));
    }

    [Fact]
    public void FmaLoopMatchesScalar()
    {
        float vec = Roofline.FmaLoop(1000, 1.5f), scalar = Roofline.FmaLoopScalar(1000, 1.5f);
        Assert.True(MathF.Abs(vec - scalar) <= 1e-5f * MathF.Abs(scalar), $"{vec} vs {scalar}");
    }

    [Fact]
    public void MeasurementsArePositive()
    {
        using var pool = new WorkerPool(2);
        Assert.All(Roofline.MeasureBandwidth(pool, 16 << 20, 2), v => Assert.True(v > 0));
        Assert.All(Roofline.MeasureFmaPeak(pool, 2, 10_000), v => Assert.True(v > 0));
        var m = Measurement.Of([1.0, 3.0]);
        Assert.Equal(2.0, m.Mean);
        Assert.Equal(Math.Sqrt(2), m.Sd, 12);
        Assert.Equal(3.0, m.Best);
    }

    [Fact]
    public void CostModelCountsWeightsKvAndFlops()
    {
        var c = Scion.Models.Llama.RandomModel.TinyConfig();
        using var model = new Scion.Models.Llama.LlamaModel(c, Scion.Models.Llama.RandomModel.Build(c, 1));
        var cost = new ModelCost(model);
        long layerParams = c.Layers * (2L * c.Dim * c.QDim + 2L * c.Dim * c.KvDim + 3L * c.Dim * c.FfnDim);
        Assert.Equal(layerParams, cost.LayerMatmulParams);
        Assert.Equal((long)c.Vocab * c.Dim, cost.OutputParams);
        Assert.Equal(4L * (layerParams + cost.OutputParams) + 4L * (2 * c.Layers + 1) * c.Dim, cost.WeightBytesPerStep);
        Assert.Equal(2L * c.Layers * c.KvDim * 2, cost.KvBytesPerPosition); // F16 cache
        // One token at position 0 attends to itself only.
        Assert.Equal(2.0 * layerParams + 2.0 * cost.OutputParams + 4.0 * c.Layers * c.Heads * c.HeadDim, cost.PrefillFlops(1));
        Assert.Equal(3.0 * cost.WeightBytesPerStep + 2 * (5 + 6 + 7) * cost.KvBytesPerPosition, cost.DecodeBytes(3, 2, 4));
    }
}
