using Scion.Models.Adapters;

namespace Scion.Fuzz.Targets;

/// <summary>
/// A PEFT adapter folder built from the input: the bytes up to the first NUL are adapter_config.json, the rest is
/// adapter_model.safetensors (JSON holds no NUL, so the split never falls inside the config). It is loaded, checked,
/// and applied to a tiny model as `--adapter` does.
/// </summary>
public sealed class AdapterTarget : FuzzTarget
{
    public override string Name => "adapter";

    public override string Covers =>
        "PeftAdapterFiles.Load (adapter_config.json fields, target_modules / rank_pattern / alpha_pattern regexes, " +
        "layers_to_transform, scales; tensor names, shapes, ranks, values; config and tensors agreeing) and " +
        "AdapterLoader.FromPeft against a tiny GQA model (shapes vs the base, rotary row order, DoRA factors).";

    public override void Run(byte[] input)
    {
        int split = Array.IndexOf(input, (byte)0);
        var config = split < 0 ? input : input[..split];
        var weights = split < 0 ? [] : input[(split + 1)..];
        string dir = Scratch.Folder("adapter");
        File.WriteAllBytes(Path.Combine(dir, PeftAdapterFiles.ConfigFileName), config);
        File.WriteAllBytes(Path.Combine(dir, PeftAdapterFiles.WeightsFileName), weights);
        var peft = PeftAdapterFiles.Load(dir);
        _ = AdapterLoader.FromPeft(peft, Fixtures.TinyModel, "fuzz");
    }

    public override IEnumerable<(string, byte[])> Seeds()
    {
        var c = Fixtures.TinyConfig;
        LoraTensorPair Pair(int layer, string module, int rank, int inputs, int outputs, bool dora) => new()
        {
            Layer = layer, Module = module, Rank = rank, In = inputs, Out = outputs,
            A = Values(rank * inputs, 0.01f), B = Values(outputs * rank, -0.02f),
            Magnitude = dora ? Values(outputs, 1f) : null,
        };
        var lora = new PeftAdapterConfig { R = 2, LoraAlpha = 4, TargetModules = ["q_proj", "v_proj", "down_proj"] };
        yield return ("lora.bin", Pack(lora, [
            Pair(0, LoraModules.Q, 2, c.Dim, c.Heads * c.HeadDim, false),
            Pair(1, LoraModules.V, 2, c.Dim, c.KvHeads * c.HeadDim, false),
            Pair(0, LoraModules.Down, 2, c.FfnDim, c.Dim, false)]));
        var patterned = new PeftAdapterConfig
        {
            R = 2, LoraAlpha = 8, UseRslora = true, TargetModulesPattern = @".*\.(k_proj|o_proj)", LayersToTransform = [1],
            RankPattern = new Dictionary<string, int> { ["o_proj"] = 4 }, AlphaPattern = new Dictionary<string, double> { ["k_proj"] = 2 },
        };
        yield return ("rslora-patterns.bin", Pack(patterned, [
            Pair(1, LoraModules.K, 2, c.Dim, c.KvHeads * c.HeadDim, false),
            Pair(1, LoraModules.O, 4, c.Heads * c.HeadDim, c.Dim, false)]));
        var dora = new PeftAdapterConfig { R = 1, UseDora = true, TargetModulesPattern = PeftAdapterConfig.AllLinear };
        yield return ("dora.bin", Pack(dora, [Pair(0, LoraModules.Up, 1, c.Dim, c.FfnDim, true)]));
    }

    public override bool ModelShaped => true;

    /// <summary>Round 1's ten adapter crashes, by cause: a lone UTF-16 surrogate escape in a config key, in the
    /// peft_type and target_modules values, and in a key of the weights' safetensors header.</summary>
    public override IEnumerable<(string, byte[], string)> Regressions()
    {
        const string Lone = "\\ud800"; // the six characters \ud800 in the JSON text
        const string Refusal = "unpaired UTF-16 surrogate escape";
        var seed = Seeds().First().Item2;
        int split = Array.IndexOf(seed, (byte)0);
        string config = System.Text.Encoding.UTF8.GetString(seed, 0, split);
        var weights = seed[(split + 1)..];
        byte[] With(string c, byte[] w) => [.. System.Text.Encoding.UTF8.GetBytes(c), 0, .. w];
        yield return ("config key", With(Scion.Fuzz.Seeds.ReplaceOnce(config, "^\\{", $"{{\"{Lone}\": 1, "), weights), Refusal);
        yield return ("peft_type value", With(Scion.Fuzz.Seeds.ReplaceOnce(config, "\"peft_type\":\\s*\"[^\"]*\"", $"\"peft_type\": \"{Lone}\""), weights), Refusal);
        yield return ("target_modules value", With(Scion.Fuzz.Seeds.ReplaceOnce(config, "\"target_modules\":\\s*\\[", $"\"target_modules\": [\"{Lone}\", "), weights), Refusal);
        yield return ("weights header key", With(config, Scion.Fuzz.Seeds.WithHeaderKey(weights, Lone)), Refusal);
    }

    private static float[] Values(int n, float scale) => Enumerable.Range(0, n).Select(i => scale * ((i % 7) - 3)).ToArray();

    /// <summary>The adapter as PeftAdapterFiles.Save writes it, packed into one input: config, NUL, safetensors.</summary>
    private static byte[] Pack(PeftAdapterConfig config, LoraTensorPair[] pairs)
    {
        string dir = Scratch.Folder("adapter-seed");
        PeftAdapterFiles.Save(dir, config, pairs);
        return [.. File.ReadAllBytes(Path.Combine(dir, PeftAdapterFiles.ConfigFileName)), 0,
            .. File.ReadAllBytes(Path.Combine(dir, PeftAdapterFiles.WeightsFileName))];
    }
}
