using System.Runtime.InteropServices;
using Scion.Models.Adapters;
using Scion.Models.Formats;
using Scion.Models.Tests.Formats;
using Scion.Tensors;
using Scion.Testing;

namespace Scion.Models.Tests.Adapters;

public class PeftAdapterFilesTests
{
    [Fact]
    public void LoadsLoraGoldenTiny()
    {
        string dir = SharedData.Path("golden", "lora-golden-tiny");
        var adapter = PeftAdapterFiles.Load(dir);
        var c = adapter.Config;
        Assert.Equal((4, 8.0, false, false), (c.R, c.LoraAlpha, c.UseRslora, c.UseDora));
        Assert.Equal(["q_proj", "k_proj", "v_proj", "o_proj", "down_proj"], c.TargetModules!);
        Assert.Equal("held-small", c.BaseModelNameOrPath);
        Assert.Equal(2f, c.ScaleFor("model.layers.0.self_attn.q_proj"));
        Assert.True(c.Targets(1, "down_proj"));
        Assert.False(c.Targets(1, "up_proj"));

        Assert.Equal(10, adapter.Pairs.Count);
        var expected = new Dictionary<string, (int In, int Out)>
        {
            ["q_proj"] = (64, 64), ["k_proj"] = (64, 32), ["v_proj"] = (64, 32), ["o_proj"] = (64, 64), ["down_proj"] = (192, 64),
        };
        Assert.Equal(
            [(0, "q_proj"), (0, "k_proj"), (0, "v_proj"), (0, "o_proj"), (0, "down_proj"), (1, "q_proj"), (1, "k_proj"), (1, "v_proj"), (1, "o_proj"), (1, "down_proj")],
            adapter.Pairs.Select(p => (p.Layer, p.Module)));
        foreach (var p in adapter.Pairs)
        {
            Assert.Equal(4, p.Rank);
            Assert.Equal(expected[p.Module], (p.In, p.Out));
            Assert.Equal(p.Rank * p.In, p.A.Length);
            Assert.Equal(p.Out * p.Rank, p.B.Length);
            Assert.Null(p.Magnitude);
            p.Validate();
        }
        // Values are the stored fp32 values, untouched.
        using var raw = SafetensorsFile.Open(Path.Combine(dir, "adapter_model.safetensors"));
        var b = raw.TensorBytes(raw.RequireTensor("base_model.model.model.layers.1.self_attn.k_proj.lora_B.weight"));
        Assert.Equal(MemoryMarshal.Cast<byte, float>(b).ToArray(), adapter.Pairs.Single(p => p is { Layer: 1, Module: "k_proj" }).B);
        Assert.Contains(adapter.Pairs[0].B, v => v != 0); // a trained-looking adapter, not B = 0
    }

    [Fact]
    public void SaveThenLoadRoundTripsAndPeftCanReadTheConfig()
    {
        var golden = PeftAdapterFiles.Load(SharedData.Path("golden", "lora-golden-tiny"));
        using var dir = new TempDirectory();
        PeftAdapterFiles.Save(dir.Path, golden.Config, golden.Pairs);
        var again = PeftAdapterFiles.Load(dir.Path);
        Assert.Equal(golden.Config with { Source = again.Config.Source, RankPattern = again.Config.RankPattern, AlphaPattern = again.Config.AlphaPattern, TargetModules = again.Config.TargetModules }, again.Config);
        Assert.Equal(golden.Config.TargetModules, again.Config.TargetModules);
        Assert.Equal(golden.Pairs.Count, again.Pairs.Count);
        for (int i = 0; i < golden.Pairs.Count; i++)
        {
            var (x, y) = (golden.Pairs[i], again.Pairs[i]);
            Assert.Equal((x.Layer, x.Module, x.Rank, x.In, x.Out), (y.Layer, y.Module, y.Rank, y.In, y.Out));
            Assert.Equal(x.A, y.A);
            Assert.Equal(x.B, y.B);
        }
        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.Path, "adapter_config.json")));
        var root = json.RootElement;
        Assert.Equal("LORA", root.GetProperty("peft_type").GetString());
        Assert.Equal(4, root.GetProperty("r").GetInt32());
        Assert.Equal("none", root.GetProperty("bias").GetString());
        Assert.False(root.GetProperty("fan_in_fan_out").GetBoolean());
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));
        using var weights = SafetensorsFile.Open(Path.Combine(dir.Path, "adapter_model.safetensors"));
        Assert.NotNull(weights.FindTensor("base_model.model.model.layers.0.mlp.down_proj.lora_A.weight"));
    }

    [Fact]
    public void ConvertsHalfTypesAcceptsAdapterNameAndReadsDoraMagnitude()
    {
        using var dir = new TempDirectory();
        WriteConfig(dir, """{"peft_type":"LORA","r":2,"lora_alpha":4,"use_dora":true,"use_rslora":true,"target_modules":"all-linear","layers_to_transform":3,"modules_to_save":[]}""");
        var w = new SafetensorsWriter();
        // A [2, 3] in F16, B [4, 2] in BF16, magnitude [4] in F32.
        w.AddTensor("base_model.model.model.layers.3.mlp.up_proj.lora_A.default.weight", GgmlType.F16, [2, 3], Half([1, 2, 3, -1, -2, -0.5f]));
        w.AddTensor("base_model.model.model.layers.3.mlp.up_proj.lora_B.default.weight", GgmlType.BF16, [4, 2], BFloat([1, 2, 3, 4, 5, 6, 7, 8]));
        w.AddFloat32("base_model.model.model.layers.3.mlp.up_proj.lora_magnitude_vector", [4], [0.5f, 1, 1.5f, 2]);
        w.Write(dir.File("adapter_model.safetensors"));

        var adapter = PeftAdapterFiles.Load(dir.Path);
        var p = Assert.Single(adapter.Pairs);
        Assert.Equal((3, "up_proj", 2, 3, 4), (p.Layer, p.Module, p.Rank, p.In, p.Out));
        Assert.Equal(new float[] { 1, 2, 3, -1, -2, -0.5f }, p.A);
        Assert.Equal(new float[] { 1, 2, 3, 4, 5, 6, 7, 8 }, p.B);
        Assert.Equal(new float[] { 0.5f, 1, 1.5f, 2 }, p.Magnitude);
        Assert.Equal("all-linear", adapter.Config.TargetModulesPattern);
        Assert.Equal([3], adapter.Config.LayersToTransform!);
        Assert.True(adapter.Config.Targets(3, "gate_proj"));
        Assert.False(adapter.Config.Targets(2, "gate_proj"));
        Assert.Equal((float)(4 / Math.Sqrt(2)), adapter.Config.ScaleFor(p.ModulePath));

        // DoRA adapters round-trip through Save with PEFT's magnitude name.
        using var copy = new TempDirectory();
        PeftAdapterFiles.Save(copy.Path, adapter.Config, adapter.Pairs);
        Assert.Equal(p.Magnitude, Assert.Single(PeftAdapterFiles.Load(copy.Path).Pairs).Magnitude);
    }

    [Fact]
    public void RankPatternAndAlphaPatternApplyPerModule()
    {
        var c = PeftAdapterConfig.Parse("""{"peft_type":"LORA","r":8,"lora_alpha":16,"target_modules":"model\\.layers\\.\\d+\\.self_attn\\.(q|v)_proj","rank_pattern":{"layers.1.self_attn.q_proj":2,"v_proj":4},"alpha_pattern":{"v_proj":1}}""", "x");
        Assert.Equal(2, c.RankFor("model.layers.1.self_attn.q_proj"));
        Assert.Equal(8, c.RankFor("model.layers.11.self_attn.q_proj")); // the pattern is anchored at a dot, so layer 11 is not layer 1
        Assert.Equal(4, c.RankFor("model.layers.0.self_attn.v_proj"));
        Assert.Equal(0.25f, c.ScaleFor("model.layers.0.self_attn.v_proj"));
        Assert.Equal(2f, c.ScaleFor("model.layers.0.self_attn.q_proj"));
        Assert.True(c.Targets(5, "q_proj"));
        Assert.False(c.Targets(5, "k_proj"));

        using var dir = new TempDirectory();
        WriteConfig(dir, """{"peft_type":"LORA","r":8,"target_modules":["q_proj"],"rank_pattern":{"q_proj":2}}""");
        WritePair(dir, "base_model.model.model.layers.0.self_attn.q_proj", rank: 2, inputs: 4, outputs: 4);
        Assert.Equal(2, Assert.Single(PeftAdapterFiles.Load(dir.Path).Pairs).Rank);
    }

    [Theory]
    [InlineData("\"peft_type\":\"LORA\"", "\"peft_type\":\"IA3\"", "'peft_type'")]
    [InlineData("\"r\":2", "\"r\":2,\"fan_in_fan_out\":true", "'fan_in_fan_out'")]
    [InlineData("\"r\":2", "\"r\":2,\"bias\":\"all\"", "'bias'")]
    [InlineData("\"r\":2", "\"r\":2,\"modules_to_save\":[\"lm_head\"]", "'modules_to_save' is [\"lm_head\"]")]
    [InlineData("\"r\":2", "\"r\":\"2\"", "'r' should be an integer")]
    [InlineData("\"r\":2", "\"lora_alpha\":4", "'r' is missing")]
    [InlineData("\"r\":2", "\"r\":4", "rank 2, but")]
    [InlineData("\"r\":2", "\"r\":2,\"use_dora\":true", "no lora_magnitude_vector")]
    [InlineData("\"r\":2", "\"r\":2,\"rank_pattern\":{\"(\":1}", "rank_pattern['(']")]
    [InlineData("\"r\":2", "\"r\":2,\"rank_pattern\":{\")|(.*\":1}", "rank_pattern[')|(.*']")] // valid only once wrapped
    // alpha and the scale alpha/r: non-finite, non-positive, or beyond fp32 once divided.
    [InlineData("\"r\":2", "\"r\":2,\"lora_alpha\":1e308", "'lora_alpha' is 1E+308, which with r = 2 gives the scale")]
    [InlineData("\"r\":2", "\"r\":2,\"lora_alpha\":1e400", "'lora_alpha' should be a finite number")]
    [InlineData("\"r\":2", "\"r\":2,\"lora_alpha\":0", "'lora_alpha' is 0, expected a positive finite number")]
    [InlineData("\"r\":2", "\"r\":2,\"lora_alpha\":-8", "'lora_alpha' is -8, expected a positive finite number")]
    [InlineData("\"r\":2", "\"r\":2,\"lora_alpha\":1e-50", "gives the scale alpha/r = 0")]
    [InlineData("\"r\":2", "\"r\":2,\"alpha_pattern\":{\"q_proj\":1e39}", "'alpha_pattern['q_proj']' is 1E+39")]
    [InlineData("\"r\":2", "\"r\":2,\"lora_alpha\":1.5e30,\"rank_pattern\":{\"v_proj\":1}", "with rank_pattern['v_proj'] = 1")]
    // target_modules and layers_to_transform that do not describe the tensors.
    [InlineData("[\"q_proj\"]", "[\"q_proj\",\"v_proj\"]", "target_modules entry 'v_proj' names nothing")]
    [InlineData("[\"q_proj\"]", "[\"k_proj\"]", "adapts model.layers.0.self_attn.q_proj, which")]
    [InlineData("[\"q_proj\"]", "\"v_proj\"", "does not target (target_modules 'v_proj')")]
    [InlineData("[\"q_proj\"]", "[\"q_proj\"],\"layers_to_transform\":[1]", "layers_to_transform [1]")]
    [InlineData("[\"q_proj\"]", "[\"q_proj\"],\"layers_to_transform\":[0,-1]", "'layers_to_transform' holds -1")]
    public void BadConfigsAreRefusedNamingTheField(string find, string replace, string expected)
    {
        using var dir = new TempDirectory();
        WriteConfig(dir, """{"peft_type":"LORA","r":2,"target_modules":["q_proj"]}""".Replace(find, replace));
        WritePair(dir, "base_model.model.model.layers.0.self_attn.q_proj", rank: 2, inputs: 4, outputs: 4);
        var e = Assert.Throws<ModelFormatException>(() => PeftAdapterFiles.Load(dir.Path));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void BadTensorsAreRefusedNamingTheTensor()
    {
        const string config = """{"peft_type":"LORA","r":2,"target_modules":["q_proj"]}""";
        void Expect(Action<SafetensorsWriter> build, string expected)
        {
            using var dir = new TempDirectory();
            WriteConfig(dir, config);
            var w = new SafetensorsWriter();
            build(w);
            w.Write(dir.File("adapter_model.safetensors"));
            var e = Assert.Throws<ModelFormatException>(() => PeftAdapterFiles.Load(dir.Path));
            Assert.Contains(expected, e.Message);
        }
        const string q = "base_model.model.model.layers.0.self_attn.q_proj";
        Expect(w => w.AddFloat32(q + ".lora_A.weight", [2, 4], new float[8]), $"'{q}.lora_A.weight' has no matching lora_B");
        Expect(w => w.AddFloat32(q + ".lora_B.weight", [4, 2], new float[8]), $"'{q}.lora_B.weight' has no matching lora_A");
        Expect(w =>
        {
            w.AddFloat32("base_model.model.model.layers.0.self_attn.qkv_proj.lora_A.weight", [2, 4], new float[8]);
        }, "unknown module 'qkv_proj'");
        Expect(w => w.AddFloat32("base_model.model.lm_head.lora_A.weight", [2, 4], new float[8]), "'base_model.model.lm_head.lora_A.weight' is not a LoRA");
        Expect(w =>
        {
            w.AddFloat32(q + ".lora_A.weight", [2, 4], new float[8]);
            w.AddFloat32(q + ".lora_B.weight", [4, 3], new float[12]);
        }, $"'{q}.lora_B.weight' has shape [4, 3] but '{q}.lora_A.weight' has rank 2");
        Expect(w =>
        {
            w.AddFloat32(q + ".lora_A.weight", [2, 4], new float[8]);
            w.AddFloat32(q + ".lora_A.default.weight", [2, 4], new float[8]);
            w.AddFloat32(q + ".lora_B.weight", [4, 2], new float[8]);
        }, "are the same A");
        Expect(w =>
        {
            w.AddFloat32(q + ".lora_A.weight", [2, 4], new float[8]);
            w.AddFloat32(q + ".lora_B.weight", [4, 2], new float[8]);
            w.AddFloat32(q + ".lora_magnitude_vector", [4], new float[4]);
        }, "use_dora false");
        Expect(w =>
        {
            w.AddTensor(q + ".lora_A.weight", "I32", [2, 4], new byte[32]);
            w.AddFloat32(q + ".lora_B.weight", [4, 2], new float[8]);
        }, "dtype I32");
        Expect(w =>
        {
            w.AddFloat32("base_model.model.model.layers.0.mlp.q_proj.lora_A.weight", [2, 4], new float[8]);
        }, "belongs under 'self_attn'");
    }

    [Fact]
    public void MissingFilesAreReported()
    {
        using var dir = new TempDirectory();
        Assert.Contains("adapter_config.json", Assert.Throws<ModelFormatException>(() => PeftAdapterFiles.Load(dir.Path)).Message);
        WriteConfig(dir, """{"peft_type":"LORA","r":2}""");
        File.WriteAllBytes(dir.File("adapter_model.bin"), [0]);
        Assert.Contains("pickle", Assert.Throws<ModelFormatException>(() => PeftAdapterFiles.Load(dir.Path)).Message);
    }

    private static void WriteConfig(TempDirectory dir, string json) => File.WriteAllText(dir.File("adapter_config.json"), json);

    private static void WritePair(TempDirectory dir, string prefix, int rank, int inputs, int outputs)
    {
        var w = new SafetensorsWriter();
        w.AddFloat32(prefix + ".lora_A.weight", [rank, inputs], new float[rank * inputs]);
        w.AddFloat32(prefix + ".lora_B.weight", [outputs, rank], new float[outputs * rank]);
        w.Write(dir.File("adapter_model.safetensors"));
    }

    private static byte[] Half(float[] values) => MemoryMarshal.AsBytes<System.Half>(values.Select(v => (System.Half)v).ToArray()).ToArray();

    // These values are exact in BF16, so truncating the fp32 bits is exact too.
    private static byte[] BFloat(float[] values) =>
        MemoryMarshal.AsBytes<ushort>(values.Select(v => (ushort)(BitConverter.SingleToInt32Bits(v) >> 16)).ToArray()).ToArray();
}
