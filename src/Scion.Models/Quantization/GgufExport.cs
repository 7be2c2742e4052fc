using Scion.Models.Formats;
using Scion.Models.Llama;
using Scion.Models.Loading;
using Scion.Tensors;

namespace Scion.Models.Quantization;

/// <summary>A tensor as written: name, ggml-order shape, stored type, and a note when a fallback changed the type.</summary>
public sealed record ExportedTensor(string Name, long[] Shape, GgmlType Type, string? Note);

/// <summary>Where the tokenizer of a written model comes from.</summary>
public abstract record TokenizerChoice
{
    /// <summary>The <c>tokenizer.*</c> keys of another GGUF (e.g. a vocabulary-only GGUF).</summary>
    public sealed record FromGguf(GgufMetadata Metadata) : TokenizerChoice;
    /// <summary>What the input model carries (GGUF keys, or a SentencePiece tokenizer of a llama2.c/HF model).</summary>
    public sealed record FromModel : TokenizerChoice;
    /// <summary>A minimal byte-fallback vocabulary of the model's size (<see cref="GgufModelMetadata.WriteByteVocabulary"/>).</summary>
    public sealed record ByteLevel : TokenizerChoice;
}

/// <summary>
/// Writes models as GGUF files that llama.cpp loads: `scion quantize` (convert a loaded model to a type mix) and
/// `scion create` (a random model of any size). Tensors are produced and converted one at a time inside the
/// writer's streaming callbacks, so a model larger than memory can be written.
/// </summary>
public static class GgufExport
{
    /// <summary>Converts a loaded model (GGUF, Hugging Face folder or llama2.c) to <paramref name="mix"/>.</summary>
    /// <param name="progress">called once per tensor as it is written.</param>
    /// <param name="warnings">things the caller should tell the user (no tokenizer, ...).</param>
    public static IReadOnlyList<ExportedTensor> Quantize(LoadedModel loaded, QuantizationMix mix, string outputPath, TokenizerChoice tokenizer,
        Action<string>? progress = null, Action<string>? warnings = null)
    {
        var model = loaded.Model;
        var c = model.Config;
        var source = model.Source;
        var w = new GgufWriter();

        if (model.GgufMetadata is { } md)
        {
            // A GGUF input keeps all its metadata (as llama-quantize does), except what describes the old file.
            foreach (var (key, value) in md.Values)
            {
                if (GgufModelMetadata.IsFileSpecific(key)) continue;
                if (tokenizer is TokenizerChoice.FromGguf && key.StartsWith("tokenizer.", StringComparison.Ordinal)) continue;
                w.Set(key, value);
            }
        }
        else
        {
            GgufModelMetadata.WriteConfig(w, c, Path.GetFileNameWithoutExtension(Path.TrimEndingDirectorySeparator(loaded.Path)));
        }
        GgufModelMetadata.WriteFileKeys(w, mix.FileType);
        WriteTokenizer(w, tokenizer, loaded, c.Vocab, model.GgufMetadata is not null, warnings);

        // Which tensors: a GGUF keeps its own list; other formats are described by the config's slots.
        var names = source is GgufTensorSource g
            ? g.File.Tensors.Select(t => t.Name).ToList()
            : RandomModel.Layout(c).Select(t => t.Name).ToList();
        if (source is not GgufTensorSource && source.TryGet(TensorNames.RopeFreqs, out _)) names.Insert(1, TensorNames.RopeFreqs);
        bool hasOutput = names.Contains(TensorNames.Output);
        // Hugging Face Q/K rows are in rotate_half order; a llama GGUF wants them interleaved (qwen2 keeps HF order).
        bool permute = source is HfTensorSource && c.Architecture != "qwen2";

        var written = new List<ExportedTensor>();
        foreach (var name in names)
        {
            if (!source.TryGet(name, out var view)) throw new ModelFormatException($"{source.Path}: tensor '{name}' is missing.");
            var shape = (long[])view.Shape.Clone();
            var type = mix.TypeFor(name, shape, c.Layers, hasOutput, out var note);
            bool permuteThis = permute && IsRotaryProjection(name);
            written.Add(new ExportedTensor(name, shape, type, note));
            int index = written.Count;
            w.AddTensor(name, type, shape, stream =>
            {
                progress?.Invoke(Describe(index, names.Count, name, shape, view.Type, type, note));
                WriteTensor(stream, view, type, permuteThis ? c.HeadDim : 0);
            });
        }

        // llama3 rope scaling of an HF config becomes llama.cpp's rope_freqs tensor.
        if (model.GgufMetadata is null && c.RopeScaling is { Type: "llama3" } s && !names.Contains(TensorNames.RopeFreqs))
        {
            var factors = RotaryEmbedding.Llama3FreqFactors(c, s);
            long[] shape = [factors.Length];
            written.Add(new ExportedTensor(TensorNames.RopeFreqs, shape, GgmlType.F32, null));
            w.AddTensor(TensorNames.RopeFreqs, GgmlType.F32, shape, System.Runtime.InteropServices.MemoryMarshal.AsBytes(factors.AsSpan()).ToArray());
        }
        w.Write(outputPath);
        return written;
    }

    /// <summary>Writes a random-weight model (<see cref="RandomModel.Generate"/>) of config <paramref name="c"/>, one tensor in memory at a time.</summary>
    public static IReadOnlyList<ExportedTensor> CreateRandom(LlamaConfig c, ulong seed, QuantizationMix mix, string outputPath, TokenizerChoice tokenizer,
        string? name = null, Action<string>? progress = null)
    {
        c.Validate("scion create");
        var w = new GgufWriter();
        GgufModelMetadata.WriteConfig(w, c, name ?? $"random-{c.Architecture}-seed{seed}");
        GgufModelMetadata.WriteFileKeys(w, mix.FileType);
        switch (tokenizer)
        {
            case TokenizerChoice.FromGguf t:
                int? count = GgufModelMetadata.TokenCount(t.Metadata);
                if (count != c.Vocab)
                    throw new ArgumentException($"{t.Metadata.Source}: the tokenizer has {count?.ToString() ?? "no"} tokens but the model's vocabulary is {c.Vocab}; llama.cpp needs them equal.");
                GgufModelMetadata.CopyTokenizer(w, t.Metadata);
                break;
            default:
                GgufModelMetadata.WriteByteVocabulary(w, c.Vocab);
                break;
        }

        var layout = RandomModel.Layout(c);
        bool hasOutput = layout.Any(t => t.Name == TensorNames.Output);
        // The generator is one seeded stream, so the writer's callbacks (called in tensor order) pull from it in turn.
        using var values = RandomModel.Generate(c, seed).GetEnumerator();
        var written = new List<ExportedTensor>();
        for (int i = 0; i < layout.Count; i++)
        {
            var spec = layout[i];
            string? note = null;
            var type = GgmlType.F32;
            if (spec.IsMatrix) type = mix.TypeFor(spec.Name, spec.Shape, c.Layers, hasOutput, out note);
            written.Add(new ExportedTensor(spec.Name, spec.Shape, type, note));
            int index = i + 1;
            string? n = note;
            w.AddTensor(spec.Name, type, spec.Shape, stream =>
            {
                if (!values.MoveNext() || values.Current.Spec.Name != spec.Name)
                    throw new InvalidOperationException($"Random tensor stream out of order at '{spec.Name}'.");
                progress?.Invoke(Describe(index, layout.Count, spec.Name, spec.Shape, GgmlType.F32, type, n));
                var data = values.Current.Values;
                int cols = (int)spec.Shape[0];
                long rows = data.LongLength / cols;
                RowConverter.Write(stream, type, rows, cols, (r, dst) => data.AsSpan((int)((long)r * cols), cols).CopyTo(dst));
            });
        }
        w.Write(outputPath);
        return written;
    }

    private static void WriteTokenizer(GgufWriter w, TokenizerChoice choice, LoadedModel loaded, int vocab, bool copiedFromGguf, Action<string>? warnings)
    {
        switch (choice)
        {
            case TokenizerChoice.FromGguf t:
                int? count = GgufModelMetadata.TokenCount(t.Metadata);
                if (count is null) throw new ModelFormatException($"{t.Metadata.Source}: no tokenizer.ggml.tokens in this GGUF.");
                if (count != vocab)
                    warnings?.Invoke($"the tokenizer has {count} tokens but the model's vocabulary is {vocab}; llama.cpp requires them to be equal.");
                GgufModelMetadata.CopyTokenizer(w, t.Metadata);
                break;
            case TokenizerChoice.ByteLevel:
                GgufModelMetadata.WriteByteVocabulary(w, vocab);
                break;
            case TokenizerChoice.FromModel:
                if (copiedFromGguf) return; // the tokenizer.* keys came along with the rest
                if (loaded.Tokenizer is { } tk && GgufModelMetadata.TryWriteTokenizer(w, tk))
                {
                    if (loaded.ChatTemplate is { } template) w.Set("tokenizer.chat_template", template);
                    return;
                }
                warnings?.Invoke(loaded.Tokenizer is null
                    ? "the input carries no tokenizer, so the output has none; pass --tokenizer with a GGUF to embed one."
                    : $"a '{loaded.Tokenizer.Kind}' tokenizer cannot be stored in GGUF by this tool; pass --tokenizer with a GGUF to embed one.");
                break;
        }
    }

    private static bool IsRotaryProjection(string name) =>
        name.EndsWith(".attn_q.weight", StringComparison.Ordinal) || name.EndsWith(".attn_k.weight", StringComparison.Ordinal)
        || name.EndsWith(".attn_q.bias", StringComparison.Ordinal) || name.EndsWith(".attn_k.bias", StringComparison.Ordinal);

    /// <param name="headDim">non-zero: reorder rows (or, for a 1-D bias, entries) from HF to GGUF rotary order.</param>
    private static unsafe void WriteTensor(Stream stream, TensorView view, GgmlType type, int headDim)
    {
        if (view.Type == type && headDim == 0)
        {
            // Same type: copy the stored bytes, lossless (llama-quantize does the same).
            long total = view.ByteSize;
            const int chunk = 1 << 24;
            for (long off = 0; off < total; off += chunk)
                stream.Write(new ReadOnlySpan<byte>(view.Data + off, (int)Math.Min(chunk, total - off)));
            return;
        }
        var m = view.AsMatrix();
        var srcType = view.Type;
        if (headDim != 0 && view.Shape.Length == 1)
        {
            var bias = RotaryPermutation.ToGgufOrder<float>(view.ToFloats(), 1, headDim);
            RowConverter.Write(stream, type, 1, bias.Length, (_, dst) => bias.CopyTo(dst));
            return;
        }
        RowConverter.Write(stream, type, m.Rows, m.Cols, (r, dst) =>
        {
            int src = headDim != 0 ? RotaryPermutation.GgufRowToHfRow(r, headDim) : r;
            Dequantize.Row(srcType, m.RowSpan(src), dst);
        });
    }

    private static string Describe(int index, int count, string name, long[] shape, GgmlType from, GgmlType to, string? note) =>
        $"[{index,4}/{count}] {name,-28} [{string.Join(", ", shape)}] {from} -> {to}{(note is null ? "" : $" ({note})")}";
}
