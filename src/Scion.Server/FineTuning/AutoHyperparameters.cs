using Scion.Models.Llama;
using Scion.Training.Data;

namespace Scion.Server.FineTuning;

/// <summary>
/// What "auto" means for a job's hyperparameters (documented in docs/finetuning-service.md):
/// <list type="bullet">
/// <item>epochs: ceil(256 / examples), between 3 and 25 — small data sets get more passes;</item>
/// <item>batch size (examples per step): 0.2% of the examples, between 1 and 32; a step packs about that many
/// examples (batch tokens = batch size × the longest example);</item>
/// <item>learning rate multiplier: 1, of a base rate that falls with model size: 2e-4 × √(1.1e9 / parameters), clamped
/// to [2e-4, 3e-3] — 2e-4 (the usual LoRA rate) for 1B models and up, 3e-3 for stories260K, where 40 epochs of 16 facts
/// at that rate recall all 16;</item>
/// <item>checkpoints: every epoch, but at most about 10 in a run.</item>
/// </list>
/// </summary>
public static class AutoHyperparameters
{
    public const double LargeModelRate = 2e-4;
    public const double SmallModelRate = 3e-3;

    public static int Epochs(int examples) => Math.Clamp((int)Math.Ceiling(256.0 / Math.Max(1, examples)), 3, 25);

    public static int BatchSize(int examples) => Math.Clamp((int)Math.Round(examples * 0.002), 1, 32);

    public static double BaseLearningRate(LlamaConfig c) =>
        Math.Clamp(LargeModelRate * Math.Sqrt(1.1e9 / Math.Max(1, Parameters(c))), LargeModelRate, SmallModelRate);

    /// <summary>Weights of the model: embeddings, output head (unless tied), attention and MLP projections.</summary>
    public static long Parameters(LlamaConfig c)
    {
        long embed = (long)c.Vocab * c.Dim * (c.TiedEmbeddings ? 1 : 2);
        long attention = (long)c.Dim * c.QDim * 2 + (long)c.Dim * c.KvDim * 2;
        long mlp = 3L * c.Dim * c.FfnDim;
        return embed + c.Layers * (attention + mlp);
    }

    public static ResolvedHyperparameters Resolve(JobSpec spec, LlamaConfig config, IReadOnlyList<TrainingExample> train, int validationExamples, ulong seed)
    {
        int epochs = spec.Epochs ?? Epochs(train.Count);
        int batchSize = spec.BatchSize ?? BatchSize(train.Count);
        double multiplier = spec.LearningRateMultiplier ?? 1;
        double lr = spec.LearningRate ?? BaseLearningRate(config) * multiplier;
        int longest = train.Count == 0 ? 2 : train.Max(e => e.Length);
        int batchTokens = (int)Math.Clamp((long)batchSize * longest, 2, 1 << 20);
        int stepsPerEpoch = Math.Max(1, new DataOrder(train, batchTokens, seed).BatchesInEpoch(0));
        int checkpointEvery = spec.CheckpointEvery ?? Math.Max(stepsPerEpoch, (int)Math.Ceiling(stepsPerEpoch * (double)epochs / 10));
        return new ResolvedHyperparameters(epochs, batchSize, multiplier, lr, batchTokens, checkpointEvery, train.Count, validationExamples);
    }
}
