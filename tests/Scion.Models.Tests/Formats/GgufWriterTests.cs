using System.Runtime.InteropServices;
using Scion.Models.Formats;
using Scion.Tensors;
using Scion.Testing;

namespace Scion.Models.Tests.Formats;

public class GgufWriterTests
{
    [Fact]
    public void MetadataAndTensorsRoundTrip()
    {
        using var dir = new TempDirectory();
        string path = dir.File("rt.gguf");
        var values = new Dictionary<string, object>
        {
            ["u8"] = (byte)200, ["i8"] = (sbyte)-5, ["u16"] = (ushort)60000, ["i16"] = (short)-30000,
            ["u32"] = 4_000_000_000u, ["i32"] = -7, ["f32"] = 1.5f, ["bool"] = true, ["str"] = "héllo ▁world",
            ["u64"] = ulong.MaxValue, ["i64"] = long.MinValue, ["f64"] = Math.PI,
            ["strs"] = new[] { "a", "", "ü" }, ["floats"] = new[] { 1f, -2f }, ["ints"] = new[] { 1, 2, 3 },
            ["bools"] = new[] { true, false }, ["bytes"] = new byte[] { 1, 2 }, ["longs"] = new[] { 5L },
            ["doubles"] = new[] { 0.25 }, ["empty"] = Array.Empty<int>(),
            ["nested"] = new object[] { new[] { 1, 2 }, new[] { "x" } },
        };
        var w = new GgufWriter();
        foreach (var (k, v) in values) w.Set(k, v);
        w.Set("general.alignment", 64u);
        var f32 = MemoryMarshal.AsBytes<float>([1, 2, 3, 4, 5, 6]).ToArray();
        var q8 = Enumerable.Range(0, 2 * 34).Select(i => (byte)i).ToArray(); // two Q8_0 blocks = one row of 64
        w.AddTensor("a", GgmlType.F32, [3, 2], f32);
        w.AddTensor("b", GgmlType.Q8_0, [64, 1], q8);
        w.AddTensor("c", GgmlType.F16, [5], s => s.Write(new byte[10]));
        w.Write(path);

        using var g = GgufFile.Open(path);
        Assert.Equal(3u, g.Version);
        Assert.Equal(64, g.Alignment);
        Assert.Equal(0, g.DataOffset % 64);
        foreach (var (k, v) in values)
        {
            var read = g.Metadata.Get(k);
            Assert.NotNull(read);
            Assert.Equal(v.GetType(), read.GetType());
            if (v is object[] nested)
                for (int i = 0; i < nested.Length; i++) Assert.Equal(nested[i], ((object[])read)[i]);
            else
                Assert.Equal(v, read);
        }
        Assert.Equal(["a", "b", "c"], g.Tensors.Select(t => t.Name));
        Assert.Equal(new long[] { 3, 2 }, g.RequireTensor("a").Shape);
        Assert.True(g.TensorBytes(g.RequireTensor("a")).SequenceEqual(f32));
        Assert.True(g.TensorBytes(g.RequireTensor("b")).SequenceEqual(q8));
        Assert.Equal(GgmlType.Q8_0, g.RequireTensor("b").Type);
        Assert.All(g.Tensors, t => Assert.Equal(0, t.Offset % 64));
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));
    }

    [Fact]
    public void RewritingAGoldenFileGivesTheSameContent()
    {
        using var dir = new TempDirectory();
        using var src = GgufFile.Open(SharedData.Path("golden", "golden-tiny-Q4_0.gguf"));
        var w = new GgufWriter();
        foreach (var (k, v) in src.Metadata.Values) w.Set(k, v);
        foreach (var t in src.Tensors) w.AddTensor(t.Name, t.Type, t.Shape, src.TensorBytes(t).ToArray());
        string path = dir.File("copy.gguf");
        w.Write(path);
        using var copy = GgufFile.Open(path);
        Assert.Equal(src.Metadata.Values.Keys, copy.Metadata.Values.Keys);
        Assert.Equal(src.Metadata.GetArray<string>("tokenizer.ggml.tokens"), copy.Metadata.GetArray<string>("tokenizer.ggml.tokens"));
        foreach (var t in src.Tensors)
        {
            var c = copy.RequireTensor(t.Name);
            Assert.Equal((t.Type, t.ByteSize), (c.Type, c.ByteSize));
            Assert.Equal(t.Shape, c.Shape);
            Assert.True(src.TensorBytes(t).SequenceEqual(copy.TensorBytes(c)), t.Name);
        }
    }

    [Fact]
    public void FailedWriteLeavesNoTempFileAndKeepsTheOldFile()
    {
        using var dir = new TempDirectory();
        string path = dir.File("x.gguf");
        File.WriteAllText(path, "old");
        var w = new GgufWriter().AddTensor("t", GgmlType.F32, [4], s => s.Write(new byte[3])); // one byte short
        var e = Assert.Throws<InvalidOperationException>(() => w.Write(path));
        Assert.Contains("'t'", e.Message);
        Assert.Equal("old", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void RefusesInvalidInput()
    {
        var w = new GgufWriter();
        Assert.Throws<ArgumentException>(() => w.Set("k", new DateTime(2000, 1, 1)));
        Assert.Throws<ArgumentException>(() => w.Set("k", new object[] { 1 }));
        Assert.Throws<InvalidOperationException>(() => w.Set("general.alignment", 24u));
        Assert.Throws<ArgumentException>(() => w.AddTensor("q", GgmlType.Q4_0, [31], new byte[18]));
        Assert.Throws<ArgumentException>(() => w.AddTensor("f", GgmlType.F32, [2], new byte[4]));
        w.AddTensor("f", GgmlType.F32, [1], new byte[4]);
        Assert.Throws<ArgumentException>(() => w.AddTensor("f", GgmlType.F32, [1], new byte[4]));
    }
}
