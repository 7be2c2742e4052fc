using Scion.Models.Adapters;
using Scion.Models.KvCache;
using Scion.Models.Llama;
using Scion.Tensors;

namespace Scion.Serving.Tests.Adapters;

/// <summary>A tiny random base model and a temporary root folder to write seeded PEFT adapters into.</summary>
public sealed class AdapterFixture : IDisposable
{
    public static readonly string[] QvoTargets = [LoraModules.Q, LoraModules.V, LoraModules.O];

    public AdapterFixture(LlamaConfig? config = null)
    {
        Config = config ?? RandomModel.TinyConfig();
        Model = new LlamaModel(Config, RandomModel.Build(Config, 11));
        Root = Path.Combine(Path.GetTempPath(), $"scion-adapter-store-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Root);
    }

    public LlamaConfig Config { get; }
    public LlamaModel Model { get; }
    public string Root { get; }

    public string Folder(string name) => Path.Combine(Root, name);

    /// <summary>Writes a PEFT adapter for <paramref name="shape"/> (the base's config unless given) into Root/name.</summary>
    public string Write(string name, ulong seed, int rank = 4, bool dora = false, bool rslora = false, LlamaConfig? shape = null, string? root = null)
    {
        var c = shape ?? Config;
        var rng = new Xoshiro256(seed);
        float[] Gaussian(int n, float std) { var v = new float[n]; for (int i = 0; i < n; i++) v[i] = (float)rng.NextGaussian() * std; return v; }
        var pairs = new List<LoraTensorPair>();
        for (int l = 0; l < c.Layers; l++)
            foreach (var module in QvoTargets)
            {
                var (inDim, outDim) = module switch
                {
                    LoraModules.Q => (c.Dim, c.QDim),
                    LoraModules.V => (c.Dim, c.KvDim),
                    _ => (c.QDim, c.Dim),
                };
                pairs.Add(new LoraTensorPair
                {
                    Layer = l, Module = module, Rank = rank, In = inDim, Out = outDim,
                    A = Gaussian(rank * inDim, 0.3f), B = Gaussian(outDim * rank, 0.3f),
                    Magnitude = dora ? Enumerable.Range(0, outDim).Select(_ => 0.5f + (float)rng.NextDouble()).ToArray() : null,
                });
            }
        var config = new PeftAdapterConfig { R = rank, LoraAlpha = 2 * rank, UseDora = dora, UseRslora = rslora, TargetModules = QvoTargets };
        string folder = Path.Combine(root ?? Root, name);
        PeftAdapterFiles.Save(folder, config, pairs);
        return folder;
    }

    public static readonly int[] Prompt = [3, 17, 5, 42, 8, 1, 29];

    /// <summary>Logits of every prompt position through the base model with <paramref name="adapter"/>.</summary>
    public float[] Logits(LoraAdapter? adapter) =>
        Model.Forward(new ForwardBatch().AddSequence(0, Prompt, 0, adapter, allLogits: true), new PagedKvCache(Config, 64));

    public void Dispose()
    {
        Model.Dispose();
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
