using Scion.Models.Adapters;
using Scion.Models.Llama;
using Scion.Tensors;

namespace Scion.Serving.Benchmarking;

/// <summary>Writes K random rank-r PEFT LoRA adapters for a base shape (folders <c>adapter-0000</c>...), so a load
/// with many adapters needs no trained ones. B is small but not zero: a zero B would let a clever engine skip work.</summary>
public static class RandomAdapters
{
    public static IReadOnlyList<string> Write(string root, LlamaConfig config, int count, int rank, IReadOnlyList<string> targets, ulong seed)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "At least one adapter must be written.");
        if (rank < 1) throw new ArgumentOutOfRangeException(nameof(rank), rank, "The LoRA rank must be >= 1.");
        foreach (var t in targets)
            if (!LoraModules.IsKnown(t)) throw new ArgumentException($"Unknown LoRA target '{t}'; expected some of {string.Join(", ", LoraModules.All)}.", nameof(targets));
        var names = new List<string>(count);
        string width = Math.Max(4, (count - 1).ToString(System.Globalization.CultureInfo.InvariantCulture).Length).ToString(System.Globalization.CultureInfo.InvariantCulture);
        for (int k = 0; k < count; k++)
        {
            var rng = new Xoshiro256(seed + (ulong)k * 0x9E3779B97F4A7C15UL);
            float[] Gaussian(int n, float std) { var v = new float[n]; for (int i = 0; i < n; i++) v[i] = (float)rng.NextGaussian() * std; return v; }
            var pairs = new List<LoraTensorPair>();
            for (int l = 0; l < config.Layers; l++)
                foreach (var module in targets)
                {
                    var (inDim, outDim) = Shape(config, module);
                    pairs.Add(new LoraTensorPair
                    {
                        Layer = l, Module = module, Rank = rank, In = inDim, Out = outDim,
                        A = Gaussian(rank * inDim, 1f / MathF.Sqrt(inDim)), B = Gaussian(outDim * rank, 0.01f),
                    });
                }
            string name = "adapter-" + k.ToString("D" + width, System.Globalization.CultureInfo.InvariantCulture);
            PeftAdapterFiles.Save(Path.Combine(root, name), new PeftAdapterConfig { R = rank, LoraAlpha = 2 * rank, TargetModules = [.. targets] }, pairs);
            names.Add(name);
        }
        return names;
    }

    /// <summary>(input, output) width of a projection: the LoRA A is [r, in], B is [out, r].</summary>
    public static (int In, int Out) Shape(LlamaConfig c, string module) => module switch
    {
        LoraModules.Q => (c.Dim, c.QDim),
        LoraModules.K or LoraModules.V => (c.Dim, c.KvDim),
        LoraModules.O => (c.QDim, c.Dim),
        LoraModules.Gate or LoraModules.Up => (c.Dim, c.FfnDim),
        _ => (c.FfnDim, c.Dim),
    };
}
