using Scion.Models.Formats;
using Scion.Models.Tokenization;
using Scion.Testing;

namespace Scion.Models.Tests.Tokenization;

/// <summary>llama.cpp's test-tokenizer-0 files: cases separated by "\n__ggml_vocab_test__\n", one line of ids per case.</summary>
internal static class VocabTestCases
{
    public static List<(string Text, int[] Ids)> Load(string vocabFile) => VocabVectors.Load(vocabFile);

    private static readonly Dictionary<string, Tokenizer> Cache = new();

    public static Tokenizer Gguf(params string[] path)
    {
        string key = string.Join('/', path);
        lock (Cache)
        {
            if (!Cache.TryGetValue(key, out var t))
            {
                using var file = GgufFile.Open(SharedData.Path(path));
                Cache[key] = t = Tokenizer.FromGguf(file.Metadata);
            }
            return t;
        }
    }

    public static Tokenizer LlamaSpm => Gguf("tokenizers", "ggml-vocab-llama-spm.gguf");
    public static Tokenizer Gpt2 => Gguf("tokenizers", "ggml-vocab-gpt-2.gguf");
}
