using Scion.Models.Llama;
using Scion.Tensors;
using Scion.Tensors.Packed;
using Scion.Testing;

namespace Scion.Models.Tests.Llama;

public class WeightPackingTests
{
    /// <summary>Loading attaches packed copies to exactly the linear weights the packed kernels run on this CPU (so
    /// the golden tests of these files go through them), never to the embedding, and the model owns them.</summary>
    [Theory]
    [InlineData("golden-tiny-Q4_0.gguf", GgmlType.Q4_0)]
    [InlineData("golden-tiny-Q8_0.gguf", GgmlType.Q8_0)]
    public unsafe void LoadPacksTheLinearsThePackedKernelsRun(string file, GgmlType type)
    {
        if (!WeightPacking.Enabled) return;   // SCION_REPACK=0 in this environment
        var m = LlamaModel.LoadGguf(SharedData.Path("golden", file));
        var linears = m.Weights.Layers.SelectMany(l => Enum.GetValues<LinearSlot>().Select(l.Linear)).Append(m.Weights.Output).ToList();
        int packed = 0;
        foreach (var w in linears)
        {
            bool expected = PackedWeights.HasKernels(w.Type, KernelSelection.Current) && PackedWeights.IsPackable(w.Type, w.Cols);
            Assert.Equal(expected, w.Packed != null);
            if (w.Packed != null) packed++;
        }
        Assert.True(m.Weights.TokenEmbedding.Packed == null || m.Config.TiedEmbeddings);
        if (PackedWeights.HasKernels(type, KernelSelection.Current))
        {
            Assert.True(packed >= 7 * m.Config.Layers, $"{file}: only {packed} linears packed");
            Assert.True(m.PackedBytes > 0);
        }
        m.Dispose();
        Assert.Equal(0, m.PackedBytes);
    }
}
