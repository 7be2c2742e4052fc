using Scion.Models.Adapters;
using Scion.Models.Llama;
using Scion.Models.Loading;
using Scion.Testing;
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

    // Ids within stories260K's 512-token vocabulary.
    private static readonly int[] StoryTokens = [1, 403, 407, 261, 378, 291, 263, 29, 300];

    [Fact]
    public void MergeToQ8_0FallsBackPerTensorWhereRowsAreNotWholeBlocks()
    {
        // stories260K's FFN is 172 wide: ffn_down rows are not whole 32-value blocks, the rest (64 wide) are.
        using var model = LlamaModel.LoadGguf(BundledModel.Stories260K);
        var peft = TrainedAdapter(model, PeftMethod.Lora);
        var expected = ModelFixtures.InferenceLogits(model, StoryTokens, AdapterLoader.FromPeft(peft, model, "a"));
        string output = Path.Combine(_dir, "merged-q8.gguf");
        var progress = new List<int>();
        var written = AdapterMerge.WriteGguf(model, peft, output, GgmlType.Q8_0, (index, count, _) => progress.Add(index));
        Assert.Equal(Enumerable.Range(1, written.Count), progress);
        var down = written.Where(t => t.Name.EndsWith("ffn_down.weight", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(down);
        Assert.All(down, t => Assert.Equal(GgmlType.F16, t.Type));
        Assert.All(down, t => Assert.Contains("not whole Q8_0 blocks", t.Note));
        Assert.All(written.Where(t => t.Name.EndsWith("attn_q.weight", StringComparison.Ordinal)), t => Assert.Equal(GgmlType.Q8_0, t.Type));
        using var merged = LlamaModel.LoadGguf(output);
        Assert.Equal(GgmlType.Q8_0, merged.Weights.Layers[0].Q.Type);
        var actual = ModelFixtures.InferenceLogits(merged, StoryTokens);
        Assert.InRange(ModelFixtures.MaxRelativeDifference(actual, expected, model.Config.Vocab), 0, 3e-1);
    }

    [Fact]
    public void AHuggingFaceFolderMergedFromGgufCarriesItsTokenizerAndLoadsOnItsOwn()
    {
        using var loaded = ModelLoader.Load(BundledModel.Stories260K);
        var peft = TrainedAdapter(loaded.Model, PeftMethod.Lora);
        var expected = ModelFixtures.InferenceLogits(loaded.Model, StoryTokens, AdapterLoader.FromPeft(peft, loaded.Model, "a"));
        string output = Path.Combine(_dir, "merged-stories") + "/";
        AdapterMerge.WriteHuggingFace(loaded.Model, peft, output);
        foreach (var file in new[] { "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json" })
            Assert.True(File.Exists(Path.Combine(output, file)), file);
        using var merged = ModelLoader.Load(output);
        var tokenizer = merged.RequireTokenizer();
        var original = loaded.RequireTokenizer();
        foreach (var text in new[] { "Once upon a time", "Lily's dog is named Max.", "  two spaces\nnew line", "é🦙" })
            Assert.Equal(original.Encode(text), tokenizer.Encode(text));
        var actual = ModelFixtures.InferenceLogits(merged.Model, StoryTokens);
        Assert.InRange(ModelFixtures.MaxRelativeDifference(actual, expected, loaded.Model.Config.Vocab), 0, 1e-2);
    }

    [Fact]
    public void MergingOverAShardedFolderRemovesTheStaleIndexAndItsShards()
    {
        using var loaded = ModelLoader.Load(BundledModel.Stories260K);
        var peft = TrainedAdapter(loaded.Model, PeftMethod.Lora);
        string output = Path.Combine(_dir, "was-sharded");
        Directory.CreateDirectory(output);
        // An earlier sharded model in the folder (as --force merges into it); its index would win over model.safetensors.
        File.WriteAllText(Path.Combine(output, "model.safetensors.index.json"),
            "{\"weight_map\": {\"a\": \"model-00001-of-00002.safetensors\", \"b\": \"model-00002-of-00002.safetensors\", \"c\": \"../outside.safetensors\"}}");
        File.WriteAllText(Path.Combine(output, "model-00001-of-00002.safetensors"), "stale");
        File.WriteAllText(Path.Combine(output, "model-00002-of-00002.safetensors"), "stale");
        File.WriteAllText(Path.Combine(output, "README.md"), "the user's");
        File.WriteAllText(Path.Combine(_dir, "outside.safetensors"), "not ours");
        AdapterMerge.WriteHuggingFace(loaded.Model, peft, output + "/");
        Assert.False(File.Exists(Path.Combine(output, "model.safetensors.index.json")));
        Assert.False(File.Exists(Path.Combine(output, "model-00001-of-00002.safetensors")));
        Assert.False(File.Exists(Path.Combine(output, "model-00002-of-00002.safetensors")));
        Assert.True(File.Exists(Path.Combine(output, "README.md")));
        Assert.True(File.Exists(Path.Combine(_dir, "outside.safetensors")));
        using var merged = ModelLoader.Load(output); // loads the new single file
        Assert.Equal(loaded.Model.Config.Layers, merged.Model.Config.Layers);
    }

    [Fact]
    public void AHuggingFaceFolderMergedFromLlama2cGetsATokenizerJsonFromTokenizerBin()
    {
        using var loaded = ModelLoader.Load(SharedData.Path("models", "stories260K", "stories260K.bin"));
        var peft = TrainedAdapter(loaded.Model, PeftMethod.Lora);
        string output = Path.Combine(_dir, "merged-llama2c") + "/";
        AdapterMerge.WriteHuggingFace(loaded, peft, output);
        using var merged = ModelLoader.Load(output);
        foreach (var text in new[] { "Once upon a time", "Lily's dog is named Max." })
            Assert.Equal(loaded.RequireTokenizer().Encode(text), merged.RequireTokenizer().Encode(text));
    }
}
