using System.Buffers.Binary;
using System.Text;
using Scion.Models.Formats;
using Scion.Tensors;

namespace Scion.Models.Tests.Formats;

/// <summary>
/// GGUF files whose tensor entries do not fit their data (a relabelled type, shifted data, overlapping or gapped
/// offsets): each would pass the bounds checks and be read as garbage, so each must be refused naming the tensor.
/// </summary>
public class GgufDataLayoutTests
{
    private static readonly string[] Names = ["first.weight", "middle.weight", "last.weight"];

    /// <summary>Three F32 [64] tensors (256 bytes each, so a smaller type leaves a gap of more than the 32-byte alignment).</summary>
    private static byte[] GoodFile()
    {
        var w = new GgufWriter();
        w.Set("general.architecture", "llama");
        var values = new byte[256];
        for (int i = 0; i < values.Length; i++) values[i] = (byte)(i | 1); // no zero bytes: a shift cannot hide in padding
        foreach (var name in Names) w.AddTensor(name, GgmlType.F32, [64], values);
        using var ms = new MemoryStream();
        w.Write(ms);
        return ms.ToArray();
    }

    /// <summary>Where a tensor's type id sits: after its name, dimension count and one dimension.</summary>
    private static int TypeAt(byte[] file, string name) => file.AsSpan().IndexOf(Encoding.UTF8.GetBytes(name)) + name.Length + 4 + 8;

    private static int OffsetAt(byte[] file, string name) => TypeAt(file, name) + 4;

    private static int DataStart(byte[] file)
    {
        using var dir = new TempDirectory();
        File.WriteAllBytes(dir.File("ok.gguf"), file);
        using var g = GgufFile.Open(dir.File("ok.gguf"));
        return (int)g.DataOffset;
    }

    private static string Refused(byte[] bytes)
    {
        using var dir = new TempDirectory();
        string path = dir.File("bad.gguf");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<ModelFormatException>(() => GgufFile.Open(path).Dispose());
        Assert.Contains(path, e.Message);
        return e.Message;
    }

    [Fact]
    public void GoodFileAndTheSharedModelsOpen()
    {
        using var dir = new TempDirectory();
        File.WriteAllBytes(dir.File("ok.gguf"), GoodFile());
        using var g = GgufFile.Open(dir.File("ok.gguf"));
        Assert.Equal(3, g.Tensors.Count);
        // Files written by llama.cpp and gguf-py keep to the same layout.
        foreach (var name in new[] { "golden-tiny-F32.gguf", "golden-tiny-Q4_0.gguf", "golden-k256-Q4_K_M.gguf" })
            GgufFile.Open(Scion.Testing.SharedData.Path("golden", name)).Dispose();
        GgufFile.Open(Scion.Testing.SharedData.Path("models", "stories260K", "stories260K.gguf")).Dispose();
    }

    [Theory]
    [InlineData("first.weight", GgmlType.F16)]
    [InlineData("middle.weight", GgmlType.Q8_0)]
    [InlineData("middle.weight", GgmlType.Q4_0)]
    [InlineData("middle.weight", GgmlType.BF16)]
    [InlineData("last.weight", GgmlType.F16)]
    [InlineData("last.weight", GgmlType.Q8_0)]
    public void AnF32TensorRelabelledSmallerIsRefusedNamingIt(string name, GgmlType type)
    {
        var bad = GoodFile();
        BinaryPrimitives.WriteUInt32LittleEndian(bad.AsSpan(TypeAt(bad, name)), (uint)type);
        string message = Refused(bad);
        Assert.Contains($"'{name}'", message);
        Assert.Contains(type.ToString(), message);
    }

    [Fact]
    public void ATensorRelabelledLargerOverlapsItsNeighbour()
    {
        var bad = GoodFile();
        // F32 [64] read as F32 [128] would take the next tensor's bytes.
        BinaryPrimitives.WriteUInt64LittleEndian(bad.AsSpan(TypeAt(bad, "first.weight") - 8), 128);
        string message = Refused(bad);
        Assert.Contains("'first.weight'", message);
        Assert.Contains("overlaps tensor 'middle.weight'", message);
    }

    [Fact]
    public void OverlappingAndGappedOffsetsAreRefused()
    {
        var bad = GoodFile();
        BinaryPrimitives.WriteUInt64LittleEndian(bad.AsSpan(OffsetAt(bad, "last.weight")), 256); // on top of middle
        Assert.Contains("overlaps", Refused(bad));

        bad = GoodFile();
        BinaryPrimitives.WriteUInt64LittleEndian(bad.AsSpan(OffsetAt(bad, "first.weight")), 32); // 32 bytes of nothing first
        Assert.Contains("'first.weight', starts at data offset 32", Refused(bad));
    }

    [Fact]
    public void ADataSectionShiftedByAFewBytesIsRefused()
    {
        var good = GoodFile();
        int start = DataStart(good);

        // Four bytes inserted before the data: every tensor is read four bytes early, and four are left at the end.
        byte[] later = [.. good[..start], 1, 2, 3, 4, .. good[start..]];
        Assert.Contains("shifted", Refused(later));

        // The data moved four bytes towards the header: tensor bytes now sit in the padding.
        byte[] earlier = [.. good[..(start - 4)], .. good[start..], 0, 0, 0, 0];
        Assert.Contains("not zero", Refused(earlier));
    }

    [Fact]
    public void AnAlignmentBeyond32BitsIsRefused()
    {
        // Alignment 2^40 stored as uint64 (the format says uint32), one tensor at offset 0: refused as the alignment,
        // where it used to surface as a tensor running past the end of the file.
        var file = new List<byte>();
        void U32(uint v) => file.AddRange(BitConverter.GetBytes(v));
        void U64(ulong v) => file.AddRange(BitConverter.GetBytes(v));
        void Str(string s) { U64((ulong)s.Length); file.AddRange(Encoding.UTF8.GetBytes(s)); }
        U32(GgufFile.Magic); U32(3); U64(1); U64(1);
        Str("general.alignment"); U32((uint)GgufValueType.UInt64); U64(1UL << 40);
        Str("t"); U32(1); U64(8); U32((uint)GgmlType.F32); U64(0);
        file.AddRange(new byte[64]);
        Assert.Contains("general.alignment", Refused(file.ToArray()));
    }
}
