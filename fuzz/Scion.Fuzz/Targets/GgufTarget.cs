using Scion.Models.Formats;
using Scion.Models.Loading;
using Scion.Models.Tokenization;

namespace Scion.Fuzz.Targets;

/// <summary>A .gguf file: header, metadata, tensor table and data layout; its tokenizer; then a whole model load.</summary>
public sealed class GgufTarget : FuzzTarget
{
    public override string Name => "gguf";

    public override bool ModelShaped => true;

    public override string Covers =>
        "GgufFile.Open (header, metadata values and arrays, tensor infos, data layout), Tokenizer.FromGguf on its " +
        "tokenizer.* keys with an encode/decode round, then ModelLoader.Load (config reader, tensor shapes and types).";

    public override void Run(byte[] input)
    {
        string path = Scratch.File("model.gguf", input);
        using (var file = GgufFile.Open(path))
        {
            if (file.Metadata.Contains("tokenizer.ggml.model")) Exercise(Tokenizer.FromGguf(file.Metadata));
        }
        using var loaded = ModelLoader.Load(path);
    }

    /// <summary>Text that reaches the special-token splitter, byte fallback, digits and non-BMP code points.</summary>
    public static readonly string[] Probes = ["Hello world", " leading  spaces\n\ttabs", "<s>x</s><|endoftext|>", "12345 ünïcödé 🙂", ""];

    public static void Exercise(Tokenizer tokenizer)
    {
        foreach (var text in Probes)
        {
            var ids = tokenizer.Encode(text, addSpecial: true, parseSpecial: true);
            _ = tokenizer.Decode(ids);
            _ = tokenizer.Decode(tokenizer.Encode(text, addSpecial: false));
        }
    }

    public override IEnumerable<(string, byte[])> Seeds()
    {
        yield return ("tiny-q8_0.gguf", Fuzz.Seeds.TinyModelGguf("Q8_0"));
        yield return ("tiny-q4_0.gguf", Fuzz.Seeds.TinyModelGguf("Q4_0"));
        yield return ("vocab-spm.gguf", Fuzz.Seeds.StoriesVocabularyGguf());
        yield return ("vocab-bpe.gguf", Fuzz.Seeds.ByteLevelVocabularyGguf());
    }
}
