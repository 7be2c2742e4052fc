using System.Diagnostics;
using System.Text.RegularExpressions;
using Scion.Models.Adapters;
using Scion.Models.Formats;
using Scion.Models.Llama;
using Scion.Models.Tests.Formats;

namespace Scion.Models.Tests.Adapters;

/// <summary>
/// Adapters whose weights, layers or patterns cannot be used: each load fails with a ModelFormatException naming the
/// file and the tensor or field (they used to load and produce NaN, load with parts ignored, or crash on a regex timeout).
/// </summary>
public class PeftAdapterChecksTests
{
    private const string Q = "base_model.model.model.layers.0.self_attn.q_proj";

    private static TempDirectory Adapter(string config, Action<SafetensorsWriter> tensors)
    {
        var dir = new TempDirectory();
        File.WriteAllText(dir.File(PeftAdapterFiles.ConfigFileName), config);
        var w = new SafetensorsWriter();
        tensors(w);
        w.Write(dir.File(PeftAdapterFiles.WeightsFileName));
        return dir;
    }

    private static void QPair(SafetensorsWriter w, float[]? a = null, float[]? b = null)
    {
        w.AddFloat32(Q + ".lora_A.weight", [2, 4], a ?? new float[8]);
        w.AddFloat32(Q + ".lora_B.weight", [4, 2], b ?? new float[8]);
    }

    [Theory]
    [InlineData(float.NaN, "holds NaN at [0, 3]")]
    [InlineData(float.PositiveInfinity, "at [0, 3]")]
    [InlineData(1e38f, "holds 1E+38 at [0, 3]")]
    [InlineData(-2e30f, "at [0, 3]")]
    public void NonFiniteOrAbsurdWeightsAreRefusedNamingTheTensor(float bad, string expected)
    {
        var a = new float[8];
        a[3] = bad;
        using var dir = Adapter("""{"peft_type":"LORA","r":2,"target_modules":["q_proj"]}""", w => QPair(w, a: a));
        var e = Assert.Throws<ModelFormatException>(() => PeftAdapterFiles.Load(dir.Path));
        Assert.Contains($"'{Q}.lora_A.weight'", e.Message);
        Assert.Contains(expected, e.Message);
        Assert.Contains(dir.File(PeftAdapterFiles.WeightsFileName), e.Message);

        var b = new float[8];
        b[5] = bad;
        using var dirB = Adapter("""{"peft_type":"LORA","r":2,"target_modules":["q_proj"]}""", w => QPair(w, b: b));
        Assert.Contains($"'{Q}.lora_B.weight'", Assert.Throws<ModelFormatException>(() => PeftAdapterFiles.Load(dirB.Path)).Message);
    }

    [Fact]
    public void AnAdapterWithoutTensorsIsRefused()
    {
        using var dir = Adapter("""{"peft_type":"LORA","r":2,"target_modules":["q_proj"]}""", w => w.Metadata["format"] = "pt");
        var e = Assert.Throws<ModelFormatException>(() => PeftAdapterFiles.Load(dir.Path));
        Assert.Contains("holds no tensors", e.Message);
    }

    [Fact]
    public void LayersBeyondTheBaseModelAreRefused()
    {
        var c = RandomModel.TinyConfig();
        using var model = new LlamaModel(c, RandomModel.Build(c, 1));
        void Pair(SafetensorsWriter w, int layer)
        {
            string q = $"base_model.model.model.layers.{layer}.self_attn.q_proj";
            w.AddFloat32(q + ".lora_A.weight", [2, c.Dim], new float[2 * c.Dim]);
            w.AddFloat32(q + ".lora_B.weight", [c.QDim, 2], new float[2 * c.QDim]);
        }

        using var fits = Adapter("""{"peft_type":"LORA","r":2,"target_modules":["q_proj"],"layers_to_transform":[0,1]}""", w => Pair(w, 0));
        Assert.NotNull(AdapterLoader.Load(fits.Path, model));

        using var config = Adapter("""{"peft_type":"LORA","r":2,"target_modules":["q_proj"],"layers_to_transform":[0,5]}""", w => Pair(w, 0));
        var e = Assert.Throws<ModelFormatException>(() => AdapterLoader.Load(config.Path, model));
        Assert.Contains("'layers_to_transform' names layer 5, but the base model", e.Message);
        Assert.Contains("has 2 layers", e.Message);

        using var tensor = Adapter("""{"peft_type":"LORA","r":2,"target_modules":["q_proj"]}""", w => Pair(w, 7));
        e = Assert.Throws<ModelFormatException>(() => AdapterLoader.Load(tensor.Path, model));
        Assert.Contains("'base_model.model.model.layers.7.self_attn.q_proj.lora_A.weight' is for layer 7", e.Message);
    }

    /// <summary>Nested repetition: exponential on the backtracking engine, linear on the non-backtracking one.</summary>
    private const string Backtracking = "((.+)+)+z";

    [Fact]
    public void ABacktrackingPatternKeyMatchesWithoutTimingOut()
    {
        // The hazard: the backtracking engine gives up on this key for an ordinary module path.
        string path = "model.layers.0.self_attn.q_proj";
        Assert.Throws<RegexMatchTimeoutException>(() =>
            new Regex($"^(?:.*\\.)?(?:{Backtracking})$", RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(200)).IsMatch(path));

        using var dir = Adapter($$$"""{"peft_type":"LORA","r":2,"target_modules":["q_proj"],"rank_pattern":{"{{{Backtracking}}}":8},"alpha_pattern":{"{{{Backtracking}}}":3}}""",
            w => QPair(w));
        var clock = Stopwatch.StartNew();
        var adapter = PeftAdapterFiles.Load(dir.Path);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.Equal(2, Assert.Single(adapter.Pairs).Rank); // the key matches no module, so r applies
        Assert.Equal(4f, adapter.Config.ScaleFor(path)); // nor does the alpha key: the default alpha 8 over r 2
    }

    [Theory]
    [InlineData("rank_pattern")]
    [InlineData("alpha_pattern")]
    public void APatternThatStillTimesOutIsRefusedNamingTheKey(string field)
    {
        // A backreference keeps the pattern on the backtracking engine, where the timeout applies (the z never matches, so
        // the engine tries every way to split the path before it would even reach the backreference).
        const string key = "((.+)+)+z\\\\1";
        using var dir = Adapter($$$"""{"peft_type":"LORA","r":2,"target_modules":["q_proj"],"{{{field}}}":{"{{{key}}}":2}}""", w => QPair(w));
        // At load, not at the first request that uses the adapter.
        var e = Assert.Throws<ModelFormatException>(() => PeftAdapterFiles.Load(dir.Path));
        Assert.Contains($"{field} key '((.+)+)+z\\1'", e.Message);
        Assert.Contains("backtracks", e.Message);
        Assert.Contains(dir.File(PeftAdapterFiles.ConfigFileName), e.Message);
    }

    [Fact]
    public void ABacktrackingTargetPatternIsRefusedOrMatchedNeverCrashes()
    {
        using var linear = Adapter("""{"peft_type":"LORA","r":2,"target_modules":"((.+)+)+q_proj"}""", w => QPair(w));
        Assert.Single(PeftAdapterFiles.Load(linear.Path).Pairs);

        using var timesOut = Adapter("""{"peft_type":"LORA","r":2,"target_modules":"((.+)+)+z\\1"}""", w => QPair(w));
        Assert.Contains("target_modules pattern", Assert.Throws<ModelFormatException>(() => PeftAdapterFiles.Load(timesOut.Path)).Message);
    }
}
