using System.Text;
using BenchmarkDotNet.Attributes;
using Scion.Models.Formats;
using Scion.Models.Tokenization;

namespace Scion.Benchmarks;

/// <summary>
/// Encoding 1 MiB of English-like text. "Varied" draws from every alphabetic word of the GPT-2 vocabulary, so the
/// per-word cache rarely helps; "Repetitive" uses a few hundred common words, as prose does.
/// </summary>
[MemoryDiagnoser]
public class TokenizerBenchmarks
{
    private Tokenizer _tokenizer = null!;
    private string _text = "";

    [Params("ggml-vocab-llama-spm.gguf", "ggml-vocab-gpt-2.gguf")]
    public string Vocabulary { get; set; } = "";

    [Params("Varied", "Repetitive")]
    public string Text { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        string shared = Environment.GetEnvironmentVariable("SCION_SHARED") ?? Path.GetFullPath(Path.Combine(FindRepo(), "..", "shared"));
        using (var f = GgufFile.Open(Path.Combine(shared, "tokenizers", Vocabulary))) _tokenizer = Tokenizer.FromGguf(f.Metadata);
        using var gpt2 = GgufFile.Open(Path.Combine(shared, "tokenizers", "ggml-vocab-gpt-2.gguf"));
        var words = gpt2.Metadata.GetArray<string>("tokenizer.ggml.tokens")!
            .Select(t => t.TrimStart('Ġ')).Where(w => w.Length > 1 && w.All(char.IsAsciiLetter)).Distinct().ToArray();
        if (Text == "Repetitive") words = words.Take(300).ToArray();
        var rng = new Random(11);
        var sb = new StringBuilder(1 << 20);
        while (sb.Length < 1 << 20)
        {
            sb.Append(words[rng.Next(words.Length)]);
            sb.Append(rng.Next(12) switch { 0 => ", ", 1 => ". ", 2 => ".\n", _ => " " });
        }
        _text = sb.ToString();
    }

    /// <summary>Tokens/s = tokens ÷ mean time; chars/s likewise (1 MiB per operation).</summary>
    [Benchmark]
    public int EncodeOneMiB() => _tokenizer.Encode(_text, addSpecial: false).Length;

    private static string FindRepo()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Scion.slnx"))) return d.FullName;
        return Directory.GetCurrentDirectory();
    }
}
