using CsCheck;
using Scion.Models.Adapters;
using Scion.Models.Formats;
using Scion.Models.Loading;
using Scion.Models.Tests.Formats;
using Scion.Models.Tests.Tokenization;
using Scion.Tensors;
using Scion.Testing;

namespace Scion.Models.Tests.Properties;

/// <summary>
/// Property tests: what a writer of ours writes, our reader reads back unchanged, for generated contents; and text
/// survives encode → decode. CsCheck rather than FsCheck: its generators are plain C# LINQ (no Arb classes or F#
/// types to bridge), it shrinks without extra code, and a fixed seed plus an iteration count keeps each property
/// deterministic and fast (about a second each); a failure prints the seed that reproduces it.
/// </summary>
public sealed class RoundTripProperties
{
    /// <summary>The fixed PCG seed of every property: the same cases on every run and machine.</summary>
    private const string Seed = "0000000000Fz";
    private const int Iterations = 60;

    private static readonly Gen<string> Name = Gen.String[Gen.Char["abcdefghijklmnopqrstuvwxyz._0123456789"], 1, 24];

    // Any text that is valid Unicode: a lone surrogate has no UTF-8 form, so no file format can carry it.
    private static readonly Gen<string> ValidText = Gen.String.Where(s => !s.Any(char.IsSurrogate));

    // ---------------- GGUF ----------------

    private static readonly Gen<object> MetadataValue = Gen.OneOf<object>(
        Gen.Byte.Select(v => (object)v), Gen.SByte.Select(v => (object)v), Gen.UShort.Select(v => (object)v),
        Gen.Short.Select(v => (object)v), Gen.UInt.Select(v => (object)v), Gen.Int.Select(v => (object)v),
        Gen.ULong.Select(v => (object)v), Gen.Long.Select(v => (object)v), Gen.Float.Select(v => (object)v),
        Gen.Double.Select(v => (object)v), Gen.Bool.Select(v => (object)v), ValidText.Select(v => (object)v),
        Gen.Int.Array[0, 8].Select(v => (object)v), ValidText.Array[0, 4].Select(v => (object)v), Gen.Float.Array[0, 8].Select(v => (object)v));

    private sealed record GgufTensor(string Name, GgmlType Type, long[] Shape, byte[] Data);

    private static readonly Gen<GgufTensor> Tensor =
        from name in Name
        from type in Gen.OneOf(GgmlType.F32, GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0)
        from blocks in Gen.Int[1, 3]
        from rows in Gen.Int[1, 3]
        let cols = blocks * GgmlTypeInfo.BlockSize(type)
        from data in Gen.Byte.Array[(int)((long)cols * rows / GgmlTypeInfo.BlockSize(type) * GgmlTypeInfo.BlockBytes(type))]
        select new GgufTensor(name, type, rows == 1 ? [cols] : [cols, rows], data);

    [Fact]
    public void Gguf_write_then_read_gives_back_every_metadata_value_and_tensor()
    {
        var gen = Gen.Select(Gen.Dictionary(Name, MetadataValue)[0, 8], Tensor.Array[0, 5], Gen.OneOf(16L, 32L, 64L));
        gen.Sample(c =>
        {
            var (metadata, tensors, alignment) = c;
            tensors = tensors.DistinctBy(t => t.Name).ToArray();
            using var dir = new TempDirectory();
            var w = new GgufWriter();
            foreach (var (k, v) in metadata) w.Set(k, v);
            w.Set("general.alignment", (uint)alignment);
            foreach (var t in tensors) w.AddTensor(t.Name, t.Type, t.Shape, t.Data);
            w.Write(dir.File("x.gguf"));

            using var f = GgufFile.Open(dir.File("x.gguf"));
            Assert.Equal(alignment, f.Alignment);
            foreach (var (k, v) in metadata) Assert.Equal(v, f.Metadata.Get(k));
            Assert.Equal(tensors.Select(t => t.Name), f.Tensors.Select(t => t.Name));
            foreach (var t in tensors)
            {
                var info = f.RequireTensor(t.Name);
                Assert.Equal(t.Type, info.Type);
                Assert.Equal(t.Shape, info.Shape);
                Assert.Equal(t.Data, f.TensorBytes(info).ToArray());
            }
        }, seed: Seed, iter: Iterations, threads: 1);
    }

    // ---------------- safetensors ----------------

    private sealed record StTensor(string Name, string DType, long[] Shape, byte[] Data);

    private static readonly Gen<StTensor> StTensorGen =
        from name in Name
        from dtype in Gen.OneOf("F32", "F16", "BF16", "I32", "U8", "I64")
        from shape in Gen.Long[0, 4].Array[0, 3]
        let size = dtype switch { "F32" or "I32" => 4, "F16" or "BF16" => 2, "U8" => 1, _ => 8 }
        from data in Gen.Byte.Array[(int)(shape.Aggregate(1L, (a, n) => a * n) * size)]
        select new StTensor(name, dtype, shape, data);

    [Fact]
    public void Safetensors_write_then_read_gives_back_every_tensor_and_metadata_entry()
    {
        Gen.Select(StTensorGen.Array[0, 6], Gen.Dictionary(Name, ValidText)[0, 3]).Sample(c =>
        {
            var (tensors, metadata) = c;
            tensors = tensors.DistinctBy(t => t.Name).ToArray();
            using var dir = new TempDirectory();
            var w = new SafetensorsWriter();
            foreach (var (k, v) in metadata) w.Metadata[k] = v;
            foreach (var t in tensors) w.AddTensor(t.Name, t.DType, t.Shape, t.Data);
            w.Write(dir.File("x.safetensors"));

            using var f = SafetensorsFile.Open(dir.File("x.safetensors"));
            Assert.Equal(metadata.OrderBy(p => p.Key, StringComparer.Ordinal), f.Metadata.OrderBy(p => p.Key, StringComparer.Ordinal));
            Assert.Equal(tensors.Length, f.Tensors.Count);
            foreach (var t in tensors)
            {
                var info = f.RequireTensor(t.Name);
                Assert.Equal(t.DType, info.DType);
                Assert.Equal(t.Shape, info.Shape);
                Assert.Equal(t.Data, ReadBytes(f, info));
            }
        }, seed: Seed, iter: Iterations, threads: 1);
    }

    [Fact]
    public void A_safetensors_tensor_with_a_zero_dimension_is_empty_however_large_the_others()
    {
        // Found by the property above: [3, 4, 0] holds no values, but the size check multiplied 3 × 4 first and
        // refused it as larger than the data section.
        using var dir = new TempDirectory();
        var w = new SafetensorsWriter();
        w.AddTensor("empty", "I64", [3, 4, 0], []);
        w.AddTensor("x", "F32", [1], [0, 0, 0x80, 0x3F]);
        w.Write(dir.File("x.safetensors"));
        using var f = SafetensorsFile.Open(dir.File("x.safetensors"));
        Assert.Equal(0, f.RequireTensor("empty").ByteSize);
    }

    // TensorBytes refuses dtypes Scion does not compute with; the raw bytes are still the file's, at the tensor's offsets.
    private static byte[] ReadBytes(SafetensorsFile f, SafetensorsTensorInfo info)
    {
        using var stream = File.OpenRead(f.Path);
        stream.Position = f.DataOffset + info.Offset;
        var bytes = new byte[info.ByteSize];
        stream.ReadExactly(bytes);
        return bytes;
    }

    // ---------------- PEFT adapters ----------------

    private static Gen<LoraTensorPair> Pair(int rank) =>
        from layer in Gen.Int[0, 3]
        from module in Gen.OneOf(LoraModules.All.ToArray())
        from inputs in Gen.Int[1, 6]
        from outputs in Gen.Int[1, 6]
        from a in Gen.Float[-2f, 2f].Array[rank * inputs]
        from b in Gen.Float[-2f, 2f].Array[outputs * rank]
        select new LoraTensorPair { Layer = layer, Module = module, Rank = rank, In = inputs, Out = outputs, A = a, B = b };

    [Fact]
    public void Peft_adapter_save_then_load_gives_back_the_config_and_every_pair()
    {
        // One rank per adapter (r), so the pairs agree with the config.
        var gen = Gen.Int[1, 3].SelectMany(rank => Gen.Select(Gen.Const(rank), Pair(rank).Array[1, 6]));
        Gen.Select(gen, Gen.Double[0.5, 64], Gen.Bool, Gen.Bool).Sample(c =>
        {
            var ((rank, generated), alpha, rslora, dora) = c;
            var pairs = generated.DistinctBy(p => (p.Layer, p.Module))
                .Select(p => dora ? p with { Magnitude = [.. Enumerable.Range(1, p.Out).Select(i => i * 0.5f)] } : p)
                .OrderBy(p => p.Layer).ThenBy(p => LoraModules.Order(p.Module)).ToList();
            var config = new PeftAdapterConfig
            {
                R = rank, LoraAlpha = alpha, UseRslora = rslora, UseDora = dora,
                TargetModules = [.. pairs.Select(p => p.Module).Distinct()],
            };
            using var dir = new TempDirectory();
            PeftAdapterFiles.Save(dir.Path, config, pairs);

            var loaded = PeftAdapterFiles.Load(dir.Path);
            Assert.Equal(config.R, loaded.Config.R);
            Assert.Equal(config.LoraAlpha, loaded.Config.LoraAlpha);
            Assert.Equal(config.UseRslora, loaded.Config.UseRslora);
            Assert.Equal(config.UseDora, loaded.Config.UseDora);
            Assert.Equal(config.TargetModules, loaded.Config.TargetModules);
            Assert.Equal(pairs.Count, loaded.Pairs.Count);
            foreach (var (expected, actual) in pairs.Zip(loaded.Pairs))
            {
                Assert.Equal((expected.Layer, expected.Module, expected.Rank, expected.In, expected.Out), (actual.Layer, actual.Module, actual.Rank, actual.In, actual.Out));
                Assert.Equal(expected.A, actual.A);
                Assert.Equal(expected.B, actual.B);
                Assert.Equal(expected.Magnitude, actual.Magnitude);
            }
        }, seed: Seed, iter: Iterations, threads: 1);
    }

    // ---------------- tokenizers ----------------

    // Text as users write it, and worse: ASCII, accents, CJK, emoji (surrogate pairs), combining marks, every kind of
    // whitespace, digits, and the text of special tokens (which must stay text when not parsed as special).
    private static readonly Gen<string> Text = Gen.OneOf(
        Gen.String[Gen.Char.AlphaNumeric, 0, 40],
        Gen.String[Gen.Char[" \t\n\r\u00a0\u3000abc123.,!?'"], 0, 40],
        Gen.Select(Gen.OneOf("Hello", " world", "ünï", "中文", "🙂", "👍🏽", "\u0301", "<s>", "</s>", "<|endoftext|>", "  ", "\n\n", "1234567", "'ll", "…"), Gen.Int[0, 9])
            .Array[0, 12].Select(parts => string.Concat(parts.Select(p => p.Item1))),
        Gen.String.Where(s => !s.Any(char.IsSurrogate)));

    [Fact]
    public void Stories260K_decodes_what_it_encodes()
    {
        using var loaded = ModelLoader.Load(BundledModel.Stories260K);
        var tokenizer = loaded.Tokenizer!;
        Text.Sample(text => Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text, addSpecial: false))), seed: Seed, iter: Iterations * 5, threads: 1);
    }

    [Fact]
    public void Gpt2_byte_level_bpe_decodes_what_it_encodes()
    {
        var tokenizer = VocabTestCases.Gpt2;
        Text.Sample(text => Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text, addSpecial: false))), seed: Seed, iter: Iterations * 5, threads: 1);
    }
}
