using System.Buffers.Binary;
using System.Text;
using Scion.Models.Formats;
using Scion.Tensors;

namespace Scion.Models.Tests.Formats;

/// <summary>Corrupt GGUF files, made by writing a good one and cutting or patching bytes: all must fail with ModelFormatException.</summary>
public class GgufBadFileTests
{
    private static byte[] GoodFile(out int secondInfoStart)
    {
        var w = new GgufWriter();
        w.Set("general.architecture", "llama");
        w.Set("tokens", new[] { "a", "b" });
        w.AddTensor("tensor.a", GgmlType.F32, [8, 2], new byte[64]);
        w.AddTensor("tensor.b", GgmlType.F32, [8], new byte[32]);
        using var ms = new MemoryStream();
        w.Write(ms);
        var bytes = ms.ToArray();
        secondInfoStart = IndexOf(bytes, "tensor.b") - 8;
        return bytes;
    }

    private static int IndexOf(byte[] haystack, string s) => haystack.AsSpan().IndexOf(Encoding.UTF8.GetBytes(s));

    private static ModelFormatException Open(byte[] bytes)
    {
        using var dir = new TempDirectory();
        string path = dir.File("bad.gguf");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<ModelFormatException>(() => GgufFile.Open(path).Dispose());
        Assert.Contains(path, e.Message);
        return e;
    }

    [Fact]
    public void GoodFileOpens()
    {
        using var dir = new TempDirectory();
        File.WriteAllBytes(dir.File("ok.gguf"), GoodFile(out _));
        using var g = GgufFile.Open(dir.File("ok.gguf"));
        Assert.Equal(2, g.Tensors.Count);
    }

    [Fact]
    public void TruncatedAnywhereIsRefused()
    {
        var good = GoodFile(out int second);
        int[] cuts = [0, 1, 4, 8, 16, 23, 24, 30, 40, second - 1, second + 5, second + 30, good.Length - 96, good.Length - 33, good.Length - 1];
        foreach (int cut in cuts)
        {
            var e = Open(good[..cut]);
            Assert.True(e.Message.Contains("trunc") || e.Message.Contains("too short") || e.Message.Contains("past the end") || e.Message.Contains("impossible"), $"cut {cut}: {e.Message}");
        }
    }

    [Fact]
    public void WrongMagicAndVersionsAreRefused()
    {
        var bad = GoodFile(out _);
        bad[0] = (byte)'X';
        Assert.Contains("not a GGUF file", Open(bad).Message);
        foreach (uint version in new uint[] { 0, 1, 4, 0xFFFFFFFF })
        {
            bad = GoodFile(out _);
            BinaryPrimitives.WriteUInt32LittleEndian(bad.AsSpan(4), version);
            Assert.Contains($"version {version}", Open(bad).Message);
        }
    }

    [Theory]
    [InlineData(99u)]
    [InlineData(4u)]   // removed Q4_2
    [InlineData(5u)]   // removed Q4_3
    public void UnknownTensorTypeIsRefused(uint typeId)
    {
        var bad = GoodFile(out int second);
        int typeAt = second + 8 + "tensor.b".Length + 4 + 8; // name, n_dims, one dim
        BinaryPrimitives.WriteUInt32LittleEndian(bad.AsSpan(typeAt), typeId);
        var e = Open(bad);
        Assert.Contains("'tensor.b'", e.Message);
        Assert.Contains($"type id {typeId}", e.Message);
    }

    [Theory]
    [InlineData(96UL, "runs past the end")]
    [InlineData(1UL << 20, "beyond the end")]
    [InlineData(0x8000000000000000UL, "beyond the end")]
    [InlineData(0xFFFFFFFFFFFFFFE0UL, "beyond the end")]
    [InlineData(72UL, "not a multiple of the alignment")]
    [InlineData(8UL, "not a multiple of the alignment")]
    public void BadTensorOffsetIsRefused(ulong offset, string expected)
    {
        var bad = GoodFile(out int second);
        int offsetAt = second + 8 + "tensor.b".Length + 4 + 8 + 4;
        Assert.Equal(64UL, BinaryPrimitives.ReadUInt64LittleEndian(bad.AsSpan(offsetAt))); // sanity: we patch the right field
        BinaryPrimitives.WriteUInt64LittleEndian(bad.AsSpan(offsetAt), offset);
        var e = Open(bad);
        Assert.Contains("'tensor.b'", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void DuplicateTensorNamesAreRefused()
    {
        var bad = GoodFile(out int second);
        bad[second + 8 + "tensor.".Length] = (byte)'a';
        Assert.Contains("'tensor.a' appears twice", Open(bad).Message);
    }

    [Fact]
    public void CorruptCountsLengthsAndShapesAreRefused()
    {
        var good = GoodFile(out int second);

        var bad = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(bad.AsSpan(8), ulong.MaxValue); // tensor count
        Assert.Contains("tensor count", Open(bad).Message);

        bad = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(bad.AsSpan(24), 1UL << 40); // length of the first key
        Assert.Contains("string", Open(bad).Message);

        bad = (byte[])good.Clone();
        int arrayLengthAt = IndexOf(bad, "tokens") + "tokens".Length + 4 + 4;
        BinaryPrimitives.WriteUInt64LittleEndian(bad.AsSpan(arrayLengthAt), 1UL << 30);
        Assert.Contains("'tokens'", Open(bad).Message);

        bad = (byte[])good.Clone();
        int dimsAt = second + 8 + "tensor.b".Length;
        BinaryPrimitives.WriteUInt32LittleEndian(bad.AsSpan(dimsAt), 7);
        Assert.Contains("7 dimensions", Open(bad).Message);

        bad = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(bad.AsSpan(dimsAt + 4), 0);
        Assert.Contains("dimension 0 is 0", Open(bad).Message);
    }

    [Fact]
    public void ShapeWhoseProductOverflowsIsRefused()
    {
        // Four dimensions of 2^39 each: every one passes the per-dimension bound, the product overflows 64 bits.
        var w = new GgufWriter();
        w.AddTensor("big", GgmlType.F32, [8, 1, 1, 1], new byte[32]);
        using var ms = new MemoryStream();
        w.Write(ms);
        var bad = ms.ToArray();
        int dimsAt = IndexOf(bad, "big") + 3 + 4;
        for (int d = 0; d < 4; d++) BinaryPrimitives.WriteUInt64LittleEndian(bad.AsSpan(dimsAt + 8 * d), 1UL << 39);
        Assert.Contains("'big'", Open(bad).Message);
    }

    [Fact]
    public void DeeplyNestedArraysAreRefusedWithoutOverflowingTheStack()
    {
        // magic, version, 0 tensors, 1 key "k", then 100 000 nested array headers.
        using var ms = new MemoryStream();
        var bw = new BinaryWriter(ms);
        bw.Write(GgufFile.Magic); bw.Write(3u); bw.Write(0UL); bw.Write(1UL);
        bw.Write(1UL); bw.Write((byte)'k');
        bw.Write((uint)GgufValueType.Array);
        for (int i = 0; i < 100_000; i++) { bw.Write((uint)GgufValueType.Array); bw.Write(1UL); }
        bw.Write((uint)GgufValueType.Int32); bw.Write(0UL);
        bw.Flush();
        Assert.Contains("nested", Open(ms.ToArray()).Message);
    }

    [Fact]
    public void RandomByteCorruptionOnlyEverGivesModelFormatException()
    {
        var good = GoodFile(out _);
        var rng = new Random(1234);
        using var dir = new TempDirectory();
        for (int trial = 0; trial < 300; trial++)
        {
            var bad = (byte[])good.Clone();
            int flips = 1 + rng.Next(4);
            for (int i = 0; i < flips; i++) bad[rng.Next(bad.Length - 96)] = (byte)rng.Next(256); // header region
            string path = dir.File($"fuzz{trial}.gguf");
            File.WriteAllBytes(path, bad);
            try
            {
                using var g = GgufFile.Open(path);
                foreach (var t in g.Tensors) _ = g.TensorBytes(t).Length;
            }
            catch (ModelFormatException) { }
            catch (Exception e)
            {
                Assert.Fail($"trial {trial}: {e.GetType().Name}: {e.Message}");
            }
        }
    }
}
