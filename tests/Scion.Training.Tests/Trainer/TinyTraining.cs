using Scion.Models.Llama;
using Scion.Tensors;
using Scion.Training.Data;
using Scion.Training.Model;
using Scion.Training.Peft;
using Scion.Training.Trainer;

namespace Scion.Training.Tests.Trainer;

/// <summary>A tiny random model and synthetic data for trainer tests: no tokenizer, milliseconds per step.</summary>
internal sealed class TinyTraining : IDisposable
{
    public static readonly LlamaConfig Config = RandomModel.TinyConfig(vocab: 64) with { FfnDim = 64 };

    public TinyTraining(GgmlType type = GgmlType.Q8_0, ulong seed = 21)
    {
        Model = new LlamaModel(Config, RandomModel.Build(Config, seed, type));
        Directory = Path.Combine(Path.GetTempPath(), "scion-train-" + Guid.NewGuid().ToString("N"));
    }

    public LlamaModel Model { get; }
    public string Directory { get; }

    /// <summary>Sequences following a fixed rule (next = 3·prev + 1 mod 64) so there is something to learn; first token's loss ignored.</summary>
    public static List<TrainingExample> Examples(int count, ulong seed, int minLength = 5, int maxLength = 12)
    {
        var rng = new Xoshiro256(seed);
        var list = new List<TrainingExample>();
        for (int i = 0; i < count; i++)
        {
            int n = minLength + rng.NextInt(maxLength - minLength + 1);
            var tokens = new int[n];
            tokens[0] = rng.NextInt(Config.Vocab);
            for (int t = 1; t < n; t++) tokens[t] = (3 * tokens[t - 1] + 1) % Config.Vocab;
            var mask = Enumerable.Range(0, n).Select(t => t > 0).ToArray();
            list.Add(TrainingExample.FromMask(tokens, mask, i + 1, 64));
        }
        return list;
    }

    public FineTuner Tuner(PeftOptions peft, TrainerOptions options, List<TrainingExample> train, List<TrainingExample>? validation = null, string? subdir = null) =>
        new(new TrainingModel(Model), peft, options, train, validation, subdir is null ? Directory : Path.Combine(Directory, subdir));

    public void Dispose()
    {
        Model.Dispose();
        if (System.IO.Directory.Exists(Directory)) System.IO.Directory.Delete(Directory, recursive: true);
    }
}
