using Scion.Models.Formats;
using Scion.Models.Quantization;

namespace Scion.Fuzz;

/// <summary>
/// Small valid files made with the project's own writers, so the seed corpus needs nothing from outside the
/// repository and follows the writers when they change (`Scion.Fuzz seed DIR` writes it; fuzz/run.sh seeds fuzz/out/corpus before each run).
/// </summary>
public static class Seeds
{
    /// <summary>A random-weight tiny model (RandomModel's config, vocabulary of 260 byte tokens) as GGUF bytes.</summary>
    public static byte[] TinyModelGguf(string mix)
    {
        var config = Scion.Models.Llama.RandomModel.TinyConfig(vocab: GgufModelMetadata.ByteVocabularyMinimum);
        string path = Path.Combine(Scratch.Folder("seed-gguf"), "model.gguf");
        GgufExport.CreateRandom(config, 3, QuantizationMix.Parse(mix), path, new TokenizerChoice.ByteLevel());
        return File.ReadAllBytes(path);
    }

    /// <summary>A vocabulary-only GGUF holding stories260K's SentencePiece tokenizer.</summary>
    public static byte[] StoriesVocabularyGguf()
    {
        using var stories = GgufFile.Open(Fixtures.StoriesPath);
        var w = new GgufWriter();
        w.Set("general.architecture", "llama");
        GgufModelMetadata.CopyTokenizer(w, stories.Metadata);
        return Write(w);
    }

    /// <summary>
    /// A GPT-2 style byte-level BPE vocabulary (tokenizer.ggml.model "gpt2", pre "gpt-2"): the 256 byte chars, a few
    /// merges that build common English pieces, and &lt;|endoftext|&gt; as the control token.
    /// </summary>
    public static GgufFile ByteLevelVocabulary()
    {
        string path = Path.Combine(Scratch.Folder("byte-level-vocab"), "vocab.gguf");
        File.WriteAllBytes(path, ByteLevelVocabularyGguf());
        return GgufFile.Open(path);
    }

    public static byte[] ByteLevelVocabularyGguf()
    {
        var (tokens, merges) = ByteLevelPieces();
        var types = tokens.Select(t => t == EndOfText ? 3 : 1).ToArray(); // 3: control, 1: normal
        var w = new GgufWriter();
        w.Set("general.architecture", "llama");
        w.Set("tokenizer.ggml.model", "gpt2");
        w.Set("tokenizer.ggml.pre", "gpt-2");
        w.Set("tokenizer.ggml.tokens", tokens);
        w.Set("tokenizer.ggml.token_type", types);
        w.Set("tokenizer.ggml.merges", merges);
        int eot = Array.IndexOf(tokens, EndOfText);
        w.Set("tokenizer.ggml.bos_token_id", (uint)eot);
        w.Set("tokenizer.ggml.eos_token_id", (uint)eot);
        return Write(w);
    }

    public const string EndOfText = "<|endoftext|>";

    /// <summary>The byte-level vocabulary and merges (merges as "left right" in GPT-2's byte chars, Ġ for a space).</summary>
    public static (string[] Tokens, string[] Merges) ByteLevelPieces()
    {
        var tokens = new List<string>(ByteChars().Select(c => c.ToString()));
        string[] merges = ["Ġ t", "h e", "Ġt he", "i n", "a n", "Ġ a", "e r", "o n", "Ġ s", "r e", "Ġ w", "i s", "Ġt h", "a t", "e n", "Ġa n", "an d", "Ġan d"];
        foreach (var m in merges)
        {
            string merged = m.Replace(" ", "");
            if (!tokens.Contains(merged)) tokens.Add(merged);
        }
        tokens.Add(EndOfText);
        return (tokens.ToArray(), merges);
    }

    /// <summary>GPT-2's byte → printable char table: printable Latin-1 bytes stand for themselves, the rest from U+0100 on.</summary>
    public static char[] ByteChars()
    {
        var map = new char[256];
        int next = 0;
        for (int b = 0; b < 256; b++)
            map[b] = b is (>= 0x21 and <= 0x7E) or (>= 0xA1 and <= 0xAC) or (>= 0xAE and <= 0xFF) ? (char)b : (char)(256 + next++);
        return map;
    }

    private static byte[] Write(GgufWriter w)
    {
        using var buffer = new MemoryStream();
        w.Write(buffer);
        return buffer.ToArray();
    }

    /// <summary>A safetensors file with <paramref name="rawKey"/> (JSON text, escapes as written) added as the first key
    /// of its header, the length prefix rewritten to match: the data section is untouched.</summary>
    public static byte[] WithHeaderKey(byte[] safetensors, string rawKey)
    {
        long length = BitConverter.ToInt64(safetensors, 0);
        string header = System.Text.Encoding.UTF8.GetString(safetensors, 8, (int)length);
        if (!header.StartsWith('{')) throw new InvalidOperationException("the seed's safetensors header is not an object");
        byte[] edited = System.Text.Encoding.UTF8.GetBytes("{\"" + rawKey + "\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}" + (header == "{}" ? "}" : "," + header[1..]));
        return [.. BitConverter.GetBytes((long)edited.Length), .. edited, .. safetensors.AsSpan(8 + (int)length)];
    }

    /// <summary><paramref name="text"/> with <paramref name="pattern"/>'s one match replaced; throws when it does not match,
    /// so a rebuilt regression cannot silently turn back into its seed.</summary>
    public static string ReplaceOnce(string text, string pattern, string replacement)
    {
        var regex = new System.Text.RegularExpressions.Regex(pattern);
        if (!regex.IsMatch(text)) throw new InvalidOperationException($"the seed has no match for {pattern}");
        return regex.Replace(text, replacement, 1);
    }
}
