using Scion.Models.Llama;
using Scion.Tensors;
using Scion.Testing;

namespace Scion.Models.Tests.Llama;

public class WeightPackingTests
{
    /// <summary>Loading attaches packed copies to exactly the linear weights the packed kernels run on this CPU (so
    /// the golden tests of these files go through them), never to the embedding, and the model owns them. The
    /// expectation is written out per file rather than asked of the packing code: Q4_0 has packed kernels on every
    /// SIMD level, Q8_0 only where int8 dots use VNNI; golden-tiny is 64 wide with FFN 192 (whole 32-column blocks),
    /// its Q4_0 file stores the output head as Q8_0.</summary>
    [Theory]
    [InlineData("golden-tiny-Q4_0.gguf", GgmlType.Q4_0)]
    [InlineData("golden-tiny-Q8_0.gguf", GgmlType.Q8_0)]
    public unsafe void LoadPacksTheLinearsThePackedKernelsRun(string file, GgmlType type)
    {
        Assert.SkipUnless(WeightPacking.Enabled, "SCION_REPACK=0 in this environment: loading packs nothing");
        var level = KernelSelection.Current;
        bool q4Kernels = level != KernelLevel.Scalar, q8Kernels = KernelSelection.UsesVnni(level);
        var m = LlamaModel.LoadGguf(SharedData.Path("golden", file));
        var layerLinears = m.Weights.Layers.SelectMany(l => Enum.GetValues<LinearSlot>().Select(l.Linear)).ToList();
        Assert.Equal(7 * 2, layerLinears.Count);
        Assert.All(layerLinears, w => Assert.Equal(type, w.Type));
        bool layersPacked = type == GgmlType.Q4_0 ? q4Kernels : q8Kernels;
        Assert.All(layerLinears, w => Assert.Equal(layersPacked, w.Packed != null));
        Assert.Equal(GgmlType.Q8_0, m.Weights.Output.Type);
        Assert.Equal(q8Kernels, m.Weights.Output.Packed != null);
        Assert.Null(m.Weights.TokenEmbedding.Packed);
        if (layersPacked || q8Kernels) Assert.True(m.PackedBytes > 0);
        else Assert.Equal(0, m.PackedBytes);
        m.Dispose();
        Assert.Equal(0, m.PackedBytes);
    }
}
