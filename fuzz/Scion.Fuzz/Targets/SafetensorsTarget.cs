using Scion.Models.Formats;

namespace Scion.Fuzz.Targets;

/// <summary>A .safetensors file: header length, JSON header, dtypes, shapes, offsets, layout, and each tensor's values.</summary>
public sealed class SafetensorsTarget : FuzzTarget
{
    public override string Name => "safetensors";

    public override string Covers =>
        "SafetensorsFile.Open (length prefix, UTF-8/JSON header, __metadata__, dtype/shape/data_offsets, tiling of the " +
        "data section) and ReadFloat32 of every tensor of a dtype Scion reads.";

    public override void Run(byte[] input)
    {
        using var file = SafetensorsFile.Open(Scratch.File("model.safetensors", input));
        foreach (var t in file.Tensors)
            if (t.DType is "F32" or "F16" or "BF16") _ = file.ReadFloat32(t);
    }

    public override IEnumerable<(string, byte[])> Seeds()
    {
        var w = new SafetensorsWriter();
        w.Metadata["format"] = "pt";
        w.AddFloat32("model.norm.weight", [4], [1f, 2f, 3f, 4f]);
        w.AddFloat32("model.layers.0.self_attn.q_proj.weight", [2, 3], [0.5f, -1f, 2f, 0f, 1e-3f, 7f]);
        w.AddTensor("lm_head.weight", "F16", [2, 2], [0, 0x3C, 0, 0xBC, 0, 0x40, 0, 0]);
        w.AddTensor("embed.weight", "BF16", [1, 2], [0x80, 0x3F, 0, 0x40]);
        yield return ("three-dtypes.safetensors", Write(w));
        var empty = new SafetensorsWriter();
        yield return ("empty.safetensors", Write(empty));
    }

    public override bool ModelShaped => true;

    /// <summary>Round 1's two safetensors crashes: a lone UTF-16 surrogate escape as a header key.</summary>
    public override IEnumerable<(string, byte[], string)> Regressions()
    {
        yield return ("header key", Scion.Fuzz.Seeds.WithHeaderKey(Seeds().First().Item2, "\\ud800"), "unpaired UTF-16 surrogate escape");
    }

    public static byte[] Write(SafetensorsWriter w)
    {
        using var buffer = new MemoryStream();
        w.Write(buffer);
        return buffer.ToArray();
    }
}
