using Scion.Models.Formats;
using Scion.Models.Tokenization;
using Scion.Testing;

namespace Scion.Models.Tests.Tokenization;

/// <summary>llama.cpp's test-tokenizer-0 files: cases separated by "\n__ggml_vocab_test__\n", one line of ids per case.</summary>
internal static class VocabTestCases
{
    public static List<(string Text, int[] Ids)> Load(string vocabFile)
    {
        string inp = File.ReadAllText(SharedData.Path("tokenizers", vocabFile + ".inp"));
        string[] outLines = File.ReadAllLines(SharedData.Path("tokenizers", vocabFile + ".out"));
        var texts = inp.Split("\n__ggml_vocab_test__\n").ToList();
        if (texts[^1].Length == 0) texts.RemoveAt(texts.Count - 1); // the file ends with a separator
        Assert.Equal(texts.Count, outLines.Length);
        return texts.Select((t, i) => (t, outLines[i].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray())).ToList();
    }

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
