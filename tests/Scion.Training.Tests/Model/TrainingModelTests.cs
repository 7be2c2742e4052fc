using Scion.Models.Adapters;
using Scion.Models.Llama;
using Scion.Training.Model;
using Scion.Training.Peft;

namespace Scion.Training.Tests.Model;

public class TrainingModelTests
{
    // Both forwards use the same kernels (quantized weights meet Q8_0-quantized activations); inference also keeps
    // K and V in f16 (llama.cpp's cache), training in fp32. With float weights that leaves < 1e-2 of a logit's std.
    // With quantized weights a tiny difference upstream can move an activation across a Q8_0 rounding step, which
    // shows as up to ~7e-2 (the llama.cpp golden tolerance for these types is 5e-2 for the same reason).
    private const double Tolerance = 1e-2;
    private const double QuantizedTolerance = 1.5e-1;

    private static double ToleranceFor(string type) => type is "Q8_0" or "Q4_0" ? QuantizedTolerance : Tolerance;

    [Theory]
    [InlineData("F32")]
    [InlineData("f16")]
    [InlineData("Q8_0")]
    [InlineData("Q4_0")]
    public void LogitsMatchInferenceOnGgufBases(string type)
    {
        using var model = ModelFixtures.Gguf(type);
        var training = new TrainingModel(model);
        var expected = ModelFixtures.InferenceLogits(model, ModelFixtures.Tokens);
        var actual = ModelFixtures.TrainingLogits(training, ModelFixtures.Tokens);
        Assert.InRange(ModelFixtures.MaxRelativeDifference(actual, expected, model.Config.Vocab), 0, ToleranceFor(type));
    }

    [Fact]
    public void LogitsMatchInferenceOnHfBase()
    {
        using var model = ModelFixtures.Hf();
        Assert.Equal(RopeStyle.HalfSplit, model.Config.RopeStyle);
        var training = new TrainingModel(model);
        var expected = ModelFixtures.InferenceLogits(model, ModelFixtures.Tokens);
        var actual = ModelFixtures.TrainingLogits(training, ModelFixtures.Tokens);
        Assert.InRange(ModelFixtures.MaxRelativeDifference(actual, expected, model.Config.Vocab), 0, Tolerance);
    }

    [Fact]
    public void QkvBiasesHalfSplitRopeAndDoraRoundTripOnAQwen2LikeModel()
    {
        var config = RandomModel.TinyConfig() with { Architecture = "qwen2", QkvBias = true, RopeStyle = RopeStyle.HalfSplit, FfnDim = 64 };
        using var model = new LlamaModel(config, RandomModel.Build(config, 8));
        var training = new TrainingModel(model);
        int[] tokens = [1, 5, 9, 33, 2, 17, 60];
        Assert.InRange(ModelFixtures.MaxRelativeDifference(ModelFixtures.TrainingLogits(training, tokens), ModelFixtures.InferenceLogits(model, tokens), config.Vocab), 0, Tolerance);
        var options = new PeftOptions { Method = PeftMethod.Dora, Rank = 2, Alpha = 4, Targets = ["q_proj", "k_proj", "down_proj"], Layers = [1] };
        AdapterFactory.Initialize(training, options, seed: 1);
        Assert.Equal(3, training.Adapters().Count());
        ModelFixtures.Randomize(training, 2, bound: 0.3f);
        var dir = Path.Combine(Path.GetTempPath(), "scion-qwen-" + Guid.NewGuid().ToString("N"));
        try
        {
            AdapterExport.Save(dir, training, options);
            var inferred = ModelFixtures.InferenceLogits(model, tokens, AdapterLoader.Load(dir, model));
            Assert.InRange(ModelFixtures.MaxRelativeDifference(ModelFixtures.TrainingLogits(training, tokens), inferred, config.Vocab), 0, Tolerance);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void PackedSequencesMatchSeparateRuns()
    {
        using var model = ModelFixtures.Gguf("Q8_0");
        var training = new TrainingModel(model);
        int[] first = ModelFixtures.Tokens[..7], second = ModelFixtures.Tokens[7..];
        var tape = new Scion.Training.Autograd.Tape { Training = false };
        int[] ids = [.. first, .. second];
        int[] positions = [.. Enumerable.Range(0, first.Length), .. Enumerable.Range(0, second.Length)];
        int[] seqIds = [.. Enumerable.Repeat(0, first.Length), .. Enumerable.Repeat(1, second.Length)];
        var packed = training.Forward(tape, ids, positions, seqIds).Data;
        var a = ModelFixtures.TrainingLogits(training, first);
        var b = ModelFixtures.TrainingLogits(training, second);
        Assert.Equal([.. a, .. b], packed);
    }

    [Theory]
    [InlineData("Q8_0", PeftMethod.Lora, false)]
    [InlineData("Q8_0", PeftMethod.Dora, false)]
    [InlineData("Q8_0", PeftMethod.Pissa, false)]
    [InlineData("F32", PeftMethod.Lora, true)]
    [InlineData("hf", PeftMethod.Lora, false)]
    [InlineData("hf", PeftMethod.Dora, true)]
    [InlineData("hf", PeftMethod.Pissa, false)]
    public void SavedAdapterReproducesTrainingLogitsThroughInference(string baseKind, PeftMethod method, bool rslora)
    {
        using var model = baseKind == "hf" ? ModelFixtures.Hf() : ModelFixtures.Gguf(baseKind);
        var training = new TrainingModel(model);
        var options = new PeftOptions { Method = method, Rank = 4, Alpha = 8, Targets = null, UseRslora = rslora };
        AdapterFactory.Initialize(training, options, seed: 5);
        ModelFixtures.Randomize(training, 9, bound: 0.2f);
        var trained = ModelFixtures.TrainingLogits(training, ModelFixtures.Tokens);

        var dir = Path.Combine(Path.GetTempPath(), "scion-export-" + Guid.NewGuid().ToString("N"));
        try
        {
            AdapterExport.Save(dir, training, options);
            var adapter = AdapterLoader.Load(dir, model);
            Assert.Equal(model.Config.Layers * 7, adapter.Modules().Count());
            var inferred = ModelFixtures.InferenceLogits(model, ModelFixtures.Tokens, adapter);
            double tolerance = ToleranceFor(baseKind);
            Assert.InRange(ModelFixtures.MaxRelativeDifference(trained, inferred, model.Config.Vocab), 0, tolerance);
            // And the adapter must matter: the base alone is far off.
            var plain = ModelFixtures.InferenceLogits(model, ModelFixtures.Tokens);
            Assert.True(ModelFixtures.MaxRelativeDifference(plain, inferred, model.Config.Vocab) > 10 * tolerance);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void PissaStartsAtTheBaseModel()
    {
        using var model = ModelFixtures.Gguf("F32");
        var training = new TrainingModel(model);
        var before = ModelFixtures.TrainingLogits(training, ModelFixtures.Tokens);
        AdapterFactory.Initialize(training, new PeftOptions { Method = PeftMethod.Pissa, Rank = 4, Alpha = 4, Targets = null }, seed: 1);
        Assert.All(training.Adapters(), m => Assert.Contains(m.B.Data, v => v != 0));
        var after = ModelFixtures.TrainingLogits(training, ModelFixtures.Tokens);
        Assert.InRange(ModelFixtures.MaxRelativeDifference(after, before, model.Config.Vocab), 0, 1e-3);
    }
}
