using Scion.Models.Adapters;
using Scion.Models.KvCache;
using Scion.Models.Llama;
using Scion.Testing;
using Scion.Training.Autograd;
using Scion.Training.Model;

namespace Scion.Training.Tests.Model;

internal static class ModelFixtures
{
    public static readonly int[] Tokens = [1, 450, 4996, 17354, 1701, 432, 17204, 975, 278, 17366, 11203, 29889];

    public static LlamaModel Gguf(string type) => LlamaModel.LoadGguf(SharedData.Path("golden", $"golden-tiny-{type}.gguf"));

    public static LlamaModel Hf() => LlamaModel.LoadHuggingFace(SharedData.Path("golden", "hf-golden-tiny"));

    /// <summary>LlamaModel.Forward logits of every token of one sequence. [T, V]</summary>
    public static float[] InferenceLogits(LlamaModel model, int[] tokens, LoraAdapter? adapter = null)
    {
        var cache = new PagedKvCache(model.Config, tokens.Length + 16);
        var batch = new ForwardBatch().AddSequence(0, tokens, 0, adapter, allLogits: true);
        return model.Forward(batch, cache);
    }

    /// <summary>The training model's logits for one sequence, no gradient. [T, V]</summary>
    public static float[] TrainingLogits(TrainingModel model, int[] tokens)
    {
        var tape = new Tape { Training = false };
        using var _ = tape.NoGrad();
        return model.Forward(tape, tokens, Enumerable.Range(0, tokens.Length).ToArray(), new int[tokens.Length]).Data;
    }

    /// <summary>max |a − b| over all logits divided by the std of b's logits per row, worst row.</summary>
    public static double MaxRelativeDifference(float[] a, float[] b, int vocab)
    {
        Assert.Equal(b.Length, a.Length);
        double worst = 0;
        for (int r = 0; r < a.Length / vocab; r++)
        {
            var row = b.AsSpan(r * vocab, vocab);
            double mean = 0, sq = 0;
            foreach (var v in row) mean += v;
            mean /= vocab;
            foreach (var v in row) sq += (v - mean) * (v - mean);
            double std = Math.Sqrt(sq / vocab);
            for (int i = 0; i < vocab; i++) worst = Math.Max(worst, Math.Abs(a[r * vocab + i] - row[i]) / std);
        }
        return worst;
    }

    /// <summary>Gives every adapter tensor random values (B starts at zero, which would make any comparison trivial).</summary>
    public static void Randomize(TrainingModel model, ulong seed, float bound = 0.05f)
    {
        var rng = new Xoshiro256(seed);
        foreach (var m in model.Adapters())
        {
            for (int i = 0; i < m.B.Length; i++) m.B.Data[i] = rng.NextUniform(-bound, bound);
            for (int i = 0; i < m.A.Length; i++) m.A.Data[i] += rng.NextUniform(-bound, bound);
            if (m.Magnitude is { } mag)
                for (int i = 0; i < mag.Length; i++) mag.Data[i] *= 1 + rng.NextUniform(-0.2f, 0.2f);
        }
    }
}
