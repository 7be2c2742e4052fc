using Scion.Models.Formats;
using Scion.Tensors;
using Scion.Testing;
using static Scion.Cli.Tests.QuantizeTestSupport;

namespace Scion.Cli.Tests;

/// <summary>`scion quantize` outputs checked against llama.cpp's own quantizations of the same weights.</summary>
public class QuantizeCommandTests
{
    private static string Golden(string file) => SharedData.Path("golden", file);

    [Theory]
    [InlineData("Q8_0", "golden-tiny-Q8_0.jsonl")]
    [InlineData("Q4_0", "golden-tiny-Q4_0.jsonl")]
    public void F32ToQuantizedMatchesLlamaCppLogits(string type, string golden)
    {
        string dir = TempDir();
        string output = Path.Combine(dir, $"tiny-{type}.gguf");
        RunOk("quantize", "--model", Golden("golden-tiny-F32.gguf"), "--type", type, "--output", output);
        CheckLogits(output, golden, 5e-2, greedyMustMatch: false);

        // The same per-tensor types as llama-quantize chose for the golden file.
        var ours = TensorTypes(output);
        var theirs = TensorTypes(Golden($"golden-tiny-{type}.gguf"));
        Assert.Equal(theirs.Keys.Order(), ours.Keys.Order());
        foreach (var (name, t) in theirs) Assert.True(t.Type == ours[name].Type, $"{name}: llama.cpp {t.Type}, ours {ours[name].Type}");
        Directory.Delete(dir, true);
    }

    [Fact]
    public void Q4_0MixKeepsEmbeddingQ4_0AndOutputQ8_0()
    {
        string dir = TempDir();
        string output = Path.Combine(dir, "q4.gguf");
        var summary = RunOk("quantize", "--model", Golden("golden-tiny-F32.gguf"), "--type", "Q4_0", "--output", output);
        var types = TensorTypes(output);
        Assert.Equal(GgmlType.Q4_0, types["token_embd.weight"].Type);
        Assert.Equal(GgmlType.Q8_0, types["output.weight"].Type); // Q6_K rule, 64 is not a multiple of 256 → Q8_0
        Assert.Equal(GgmlType.F32, types["blk.0.attn_norm.weight"].Type);
        Assert.Contains("fallback: output.weight", summary);
        using var f = GgufFile.Open(output);
        Assert.Equal(2L, f.Metadata.GetInteger("general.file_type"));
        Assert.Equal(2L, f.Metadata.GetInteger("general.quantization_version"));
        Assert.Equal(32L, f.Metadata.GetInteger("general.alignment"));
        Assert.Equal("llama", f.Metadata.GetString("tokenizer.ggml.model"));
        Directory.Delete(dir, true);
    }

    [Fact]
    public void HuggingFaceToF16EqualsLlamaCppConversion()
    {
        string dir = TempDir();
        string output = Path.Combine(dir, "hf-f16.gguf");
        RunOk("quantize", "--model", Golden("hf-golden-tiny"), "--type", "F16", "--output", output,
            "--tokenizer", Golden("golden-tiny-f16.gguf"));
        // Q/K rows permuted to GGUF order: every tensor is byte for byte llama.cpp's conversion.
        using (var ours = GgufFile.Open(output))
        using (var theirs = GgufFile.Open(Golden("golden-tiny-f16.gguf")))
        {
            Assert.Equal("llama", ours.Metadata.GetString("general.architecture"));
            foreach (var t in theirs.Tensors)
            {
                var o = ours.RequireTensor(t.Name);
                Assert.Equal(t.Type, o.Type);
                Assert.Equal(t.Shape, o.Shape);
                Assert.True(theirs.TensorBytes(t).SequenceEqual(ours.TensorBytes(o)), $"{t.Name}: bytes differ from llama.cpp's conversion.");
            }
        }
        CheckLogits(output, "golden-tiny-f16.jsonl", 1e-2, greedyMustMatch: true);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void Q4_K_MOfGoldenK256RoundTrips()
    {
        string dir = TempDir();
        string f32 = Path.Combine(dir, "k256-f32.gguf");
        string requant = Path.Combine(dir, "k256-q4km.gguf");
        RunOk("quantize", "--model", Golden("golden-k256-Q4_K_M.gguf"), "--type", "F32", "--output", f32);
        RunOk("quantize", "--model", f32, "--type", "Q4_K_M", "--output", requant);
        // From dequantized weights, the mix rule must land on llama.cpp's per-tensor choices (Q4_K / Q6_K).
        var ours = TensorTypes(requant);
        var theirs = TensorTypes(Golden("golden-k256-Q4_K_M.gguf"));
        foreach (var (name, t) in theirs) Assert.True(t.Type == ours[name].Type, $"{name}: llama.cpp {t.Type}, ours {ours[name].Type}");
        // Requantizing dequantized K-quant weights lands on (nearly) the same values: the weights survive the trip.
        using (var original = GgufFile.Open(Golden("golden-k256-Q4_K_M.gguf")))
        using (var again = GgufFile.Open(requant))
            foreach (var t in original.Tensors)
            {
                var x = Floats(original, t);
                var y = Floats(again, again.RequireTensor(t.Name));
                double err = Math.Sqrt(x.Zip(y).Sum(p => (p.First - p.Second) * (double)(p.First - p.Second)) / x.Length);
                double rms = Math.Sqrt(x.Sum(v => (double)v * v) / x.Length);
                Assert.True(err <= 2e-3 * rms, $"{t.Name}: round-trip error {err / rms:E2} of rms.");
            }
        // Logits stay close to ours on the original file; activation rounding (Q8_K) alone moves them by a few 1e-2 of std.
        CompareLogits(Golden("golden-k256-Q4_K_M.gguf"), requant, 1e-1);

        // Same type in and out: tensors are copied, so the file's weights are unchanged.
        string copy = Path.Combine(dir, "k256-copy.gguf");
        RunOk("quantize", "--model", Golden("golden-k256-Q4_K_M.gguf"), "--type", "Q4_K_M", "--output", copy);
        using var a = GgufFile.Open(copy);
        using var b = GgufFile.Open(Golden("golden-k256-Q4_K_M.gguf"));
        foreach (var t in b.Tensors) Assert.True(b.TensorBytes(t).SequenceEqual(a.TensorBytes(a.RequireTensor(t.Name))), t.Name);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void Llama2cWithOddFfnFallsBackAndKeepsItsTokenizer()
    {
        string dir = TempDir();
        string output = Path.Combine(dir, "stories-q4k.gguf");
        var summary = RunOk("quantize", "--model", SharedData.Path("models", "stories260K", "stories260K.bin"), "--type", "Q4_K_M", "--output", output);
        Assert.Contains("fallback", summary);
        var types = TensorTypes(output);
        // FFN rows of 172 fit neither 256- nor 32-value blocks.
        Assert.Equal(GgmlType.F16, types["blk.0.ffn_down.weight"].Type);
        var text = RunOk("generate", "--model", output, "--prompt", "Once upon a time", "--max-tokens", "8", "--greedy");
        Assert.StartsWith("Once upon a time", text.TrimStart());
        Directory.Delete(dir, true);
    }

    private static unsafe float[] Floats(GgufFile f, GgufTensorInfo t)
    {
        var result = new float[t.ElementCount];
        long rowBytes = GgmlTypeInfo.RowBytes(t.Type, t.Cols);
        var bytes = f.TensorBytes(t);
        for (long r = 0; r < t.Rows; r++)
            Dequantize.Row(t.Type, bytes.Slice((int)(r * rowBytes), (int)rowBytes), result.AsSpan((int)(r * t.Cols), (int)t.Cols));
        return result;
    }

    [Fact]
    public void UnknownTypeIsAUsageError()
    {
        var (code, _, err) = Run("quantize", "--model", Golden("golden-tiny-F32.gguf"), "--type", "Q3_K", "--output", Path.Combine(TempDir(), "x.gguf"));
        Assert.Equal(2, code);
        Assert.Contains("Q4_K_M", err);
    }
}
