namespace Scion.Testing;

/// <summary>llama.cpp's test-tokenizer-0 files in ../shared/tokenizers: cases separated by "\n__ggml_vocab_test__\n", one line of ids per case.</summary>
internal static class VocabVectors
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
}
