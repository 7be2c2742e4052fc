using System.Buffers.Binary;
using System.Text;
using Scion.Models.Formats;
using Scion.Tensors;
using Scion.Testing;

namespace Scion.Models.Tests.Formats;

public class SafetensorsFileTests
{
    [Fact]
    public void ReadsHfGoldenTiny()
    {
        using var f = SafetensorsFile.Open(SharedData.Path("golden", "hf-golden-tiny", "model.safetensors"));
        Assert.Equal("pt", f.Metadata["format"]);
        Assert.Equal(21, f.Tensors.Count);
        var q = f.RequireTensor("model.layers.0.self_attn.q_proj.weight");
        Assert.Equal(GgmlType.F16, q.Type);
        Assert.Equal(new long[] { 64, 64 }, q.Shape);
        Assert.Equal(64 * 64 * 2, q.ByteSize);
        Assert.Equal(64 * 64 * 2, f.TensorBytes(q).Length);
        var norm = f.RequireTensor("model.norm.weight");
        Assert.Equal(GgmlType.F32, norm.Type);
        Assert.All(f.ReadFloat32(norm), v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void WriterRoundTripsEveryFloatTypeAndMetadata()
    {
        using var dir = new TempDirectory();
        string path = dir.File("t.safetensors");
        var writer = new SafetensorsWriter();
        writer.Metadata["format"] = "pt";
        writer.Metadata["note"] = "héllo";
        writer.AddFloat32("a", [2, 3], [1, 2, 3, 4, 5, 6]);
        writer.AddTensor("b", GgmlType.F16, [3], [0x00, 0x3C, 0x00, 0xC0, 0x00, 0x00]);        // 1, -2, 0
        writer.AddTensor("c", GgmlType.BF16, [1, 2], [0x80, 0x3F, 0x40, 0xC0]);               // 1, -3
        writer.AddTensor("i", "I64", [1], new byte[8]);
        writer.AddTensor("empty", "F32", [0, 4], []);
        writer.Write(path);

        var raw = File.ReadAllBytes(path);
        Assert.Equal(0, (8 + (long)BinaryPrimitives.ReadUInt64LittleEndian(raw)) % 8);

        using var f = SafetensorsFile.Open(path);
        Assert.Equal("héllo", f.Metadata["note"]);
        Assert.Equal(["a", "b", "c", "i", "empty"], f.Tensors.Select(t => t.Name));
        Assert.Equal(new float[] { 1, 2, 3, 4, 5, 6 }, f.ReadFloat32(f.RequireTensor("a")));
        Assert.Equal(new float[] { 1, -2, 0 }, f.ReadFloat32(f.RequireTensor("b")));
        Assert.Equal(new float[] { 1, -3 }, f.ReadFloat32(f.RequireTensor("c")));
        Assert.Equal(new long[] { 3, 2 }, f.RequireTensor("a").GgmlShape);

        // Unsupported dtypes are listed, and refused (naming the tensor and dtype) only when read.
        var i = f.RequireTensor("i");
        Assert.False(i.IsSupported);
        Assert.Equal("I64", i.DType);
        var e = Assert.Throws<ModelFormatException>(() => f.TensorBytes(i).Length);
        Assert.Contains("'i'", e.Message);
        Assert.Contains("I64", e.Message);
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));
    }

    [Theory]
    [InlineData("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 8, "span 4 bytes")]
    [InlineData("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,16]}}", 8, "run past the end")]
    [InlineData("{\"x\":{\"dtype\":\"Q9\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "unknown dtype 'Q9'")]
    [InlineData("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[\"0\",8]}}", 8, "data_offsets")]
    [InlineData("{\"x\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, "shape entry 0")]
    [InlineData("{\"x\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, "'data_offsets' is missing")]
    [InlineData("{\"x\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "'dtype' is missing")]
    [InlineData("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "overlap")]
    [InlineData("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "twice")]
    [InlineData("{\"x\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}", 8, "more values")]
    // data_offsets that do not tile the data section: a gap, leading bytes, trailing bytes (a dtype or shape changed without its data).
    [InlineData("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12, "between tensor 'x'")]
    [InlineData("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "tensor 'x' starts at data offset 4")]
    [InlineData("{\"x\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 8, "the last is 'x'")]
    [InlineData("{\"__metadata__\":{\"format\":\"pt\"}}", 8, "lists no tensor data")]
    [InlineData("[1,2]", 8, "expected an object")]
    [InlineData("{\"x\":", 8, "not valid JSON")]
    [InlineData("{\"__metadata__\":[1]}", 0, "__metadata__")]
    public void RejectsBadHeaders(string header, int dataBytes, string expected)
    {
        using var dir = new TempDirectory();
        string path = dir.File("bad.safetensors");
        var bytes = new List<byte>(BitConverter.GetBytes((ulong)Encoding.UTF8.GetByteCount(header)));
        bytes.AddRange(Encoding.UTF8.GetBytes(header));
        bytes.AddRange(new byte[dataBytes]);
        File.WriteAllBytes(path, bytes.ToArray());
        var e = Assert.Throws<ModelFormatException>(() => SafetensorsFile.Open(path).Dispose());
        Assert.Contains(path, e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void HeaderEntriesOutOfOffsetOrderStillTileTheData()
    {
        using var dir = new TempDirectory();
        string path = dir.File("order.safetensors");
        string header = "{\"late\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},\"early\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
        File.WriteAllBytes(path, [.. BitConverter.GetBytes((ulong)header.Length), .. Encoding.UTF8.GetBytes(header), 0, 0, 0x80, 0x3F, 0, 0, 0, 0x40]);
        using var f = SafetensorsFile.Open(path);
        Assert.Equal(new float[] { 1 }, f.ReadFloat32(f.RequireTensor("early")));
        Assert.Equal(new float[] { 2 }, f.ReadFloat32(f.RequireTensor("late")));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(8)]
    [InlineData(40)]
    [InlineData(100)]
    public void RejectsTruncatedFiles(int keep)
    {
        using var dir = new TempDirectory();
        string full = dir.File("full.safetensors");
        var w = new SafetensorsWriter();
        w.AddFloat32("weight", [4, 4], new float[16]);
        w.Write(full);
        var bytes = File.ReadAllBytes(full);
        string cut = dir.File("cut.safetensors");
        File.WriteAllBytes(cut, bytes[..Math.Min(keep, bytes.Length - 1)]);
        Assert.Throws<ModelFormatException>(() => SafetensorsFile.Open(cut).Dispose());
    }

    [Fact]
    public void RejectsAbsurdHeaderLength()
    {
        using var dir = new TempDirectory();
        string path = dir.File("huge.safetensors");
        File.WriteAllBytes(path, [.. BitConverter.GetBytes(ulong.MaxValue), .. "{}"u8.ToArray()]);
        var e = Assert.Throws<ModelFormatException>(() => SafetensorsFile.Open(path).Dispose());
        Assert.Contains("header length", e.Message);
    }

    [Fact]
    public void RandomHeaderCorruptionOnlyEverGivesModelFormatException()
    {
        using var dir = new TempDirectory();
        var w = new SafetensorsWriter();
        w.Metadata["format"] = "pt";
        w.AddFloat32("model.a.weight", [4, 4], new float[16]);
        w.AddTensor("model.b.weight", GgmlType.F16, [3, 5], new byte[30]);
        using var ms = new MemoryStream();
        w.Write(ms);
        var good = ms.ToArray();
        int headerEnd = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(good);
        var rng = new Random(99);
        for (int trial = 0; trial < 300; trial++)
        {
            var bad = (byte[])good.Clone();
            for (int i = 0, n = 1 + rng.Next(3); i < n; i++)
                bad[rng.Next(headerEnd)] = trial % 2 == 0 ? (byte)rng.Next(256) : (byte)"0123456789[]{},:\"-"[rng.Next(17)];
            string path = dir.File($"fuzz{trial}.safetensors");
            File.WriteAllBytes(path, bad);
            try
            {
                using var f = SafetensorsFile.Open(path);
                foreach (var t in f.Tensors) if (t.IsSupported) _ = f.TensorBytes(t).Length;
            }
            catch (ModelFormatException) { }
            catch (Exception e)
            {
                Assert.Fail($"trial {trial}: {e.GetType().Name}: {e.Message}");
            }
        }
    }
}
