using Scion.Models.Adapters;
using Scion.Models.Llama;
using Scion.Tensors;
using Scion.Training.Merge;
using Scion.Training.Model;
using Scion.Training.Peft;
using Scion.Training.Tests.Model;

namespace Scion.Training.Tests.Merge;

public class AdapterMergeTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "scion-merge-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private PeftAdapter TrainedAdapter(LlamaModel model, PeftMethod method)
    {
        var training = new TrainingModel(model);
        var options = new PeftOptions { Method = method, Rank = 4, Alpha = 8, Targets = null };
        AdapterFactory.Initialize(training, options, seed: 2);
        ModelFixtures.Randomize(training, 3, bound: 0.2f);
        string dir = Path.Combine(_dir, "adapter-" + method);
        AdapterExport.Save(dir, training, options);
        return PeftAdapterFiles.Load(dir);
    }

    [Theory]
    [InlineData("F32", PeftMethod.Dora, null, 1e-3)]
    [InlineData("F32", PeftMethod.Pissa, "F16", 2e-2)]
    // Re-quantizing the merged matrix to Q8_0 adds its own rounding (about 0.4% of a block's range per weight).
    [InlineData("Q8_0", PeftMethod.Lora, null, 3e-1)]
    public void MergedGgufEqualsBasePlusAdapter(string baseType, PeftMethod method, string? outType, double tolerance)
    {
        using var model = ModelFixtures.Gguf(baseType);
        var peft = TrainedAdapter(model, method);
        var expected = ModelFixtures.InferenceLogits(model, ModelFixtures.Tokens, AdapterLoader.FromPeft(peft, model, "a"));
        string output = Path.Combine(_dir, "merged.gguf");
        AdapterMerge.WriteGguf(model, peft, output, outType is null ? null : Enum.Parse<GgmlType>(outType));
        using var merged = LlamaModel.LoadGguf(output);
        if (outType is null) Assert.Equal(model.Weights.Layers[0].Q.Type, merged.Weights.Layers[0].Q.Type);
        var actual = ModelFixtures.InferenceLogits(merged, ModelFixtures.Tokens);
        Assert.InRange(ModelFixtures.MaxRelativeDifference(actual, expected, model.Config.Vocab), 0, tolerance);
    }

    [Theory]
    [InlineData("gguf", PeftMethod.Lora)]
    [InlineData("gguf", PeftMethod.Dora)]
    [InlineData("hf", PeftMethod.Lora)]
    public void MergedHuggingFaceFolderEqualsBasePlusAdapter(string baseKind, PeftMethod method)
    {
        using var model = baseKind == "hf" ? ModelFixtures.Hf() : ModelFixtures.Gguf("F32");
        var peft = TrainedAdapter(model, method);
        var expected = ModelFixtures.InferenceLogits(model, ModelFixtures.Tokens, AdapterLoader.FromPeft(peft, model, "a"));
        string output = Path.Combine(_dir, "merged-hf") + "/";
        Assert.True(AdapterMerge.IsFolderOutput(output));
        AdapterMerge.WriteHuggingFace(model, peft, output);
        using var merged = LlamaModel.LoadHuggingFace(output);
        Assert.Equal(RopeStyle.HalfSplit, merged.Config.RopeStyle);
        var actual = ModelFixtures.InferenceLogits(merged, ModelFixtures.Tokens);
        Assert.InRange(ModelFixtures.MaxRelativeDifference(actual, expected, model.Config.Vocab), 0, 1e-2);
    }
}
