namespace Scion.Models.Tokenization;

/// <summary>What llama.cpp does for one <c>tokenizer.ggml.pre</c> value of a byte-level BPE vocabulary.</summary>
internal sealed record LlamaCppPreTokenizer(string[] Patterns, bool IgnoreMerges = false, bool CleanSpaces = true, bool? AddBos = null)
{
    /// <summary>Regexes per pre-tokenizer name, as in llama.cpp's llm_tokenizer_bpe (written for .NET's engine).</summary>
    public static LlamaCppPreTokenizer ForName(string? name, string source)
    {
        switch (name)
        {
            case null or "" or "default":
                return new([@"[\p{P}\$\+<=>\^~\|]+", Tokenization.Patterns.Gpt2, @"\p{N}+", "[0-9][0-9][0-9]"]);
            case "llama3" or "llama-v3" or "llama-bpe" or "falcon3":
                return new([Tokenization.Patterns.Llama3], IgnoreMerges: true, AddBos: true);
            case "dbrx" or "smaug-bpe":
                return new([Tokenization.Patterns.Llama3]);
            case "chatglm-bpe":
                return new([Tokenization.Patterns.Llama3]);
            case "deepseek-llm":
                return new([
                    @"[\r\n]",
                    // The letter class lists its ranges explicitly; the supplementary-plane ranges of the original cannot
                    // sit in a UTF-16 class and are left out. Singletons that Unicode normalization would rewrite are escaped.
                    "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-\u1F7Dᾀ-ᾴᾶ-ᾼ\u1FBEῂ-ῄῆ-ῌῐ-\u1FD3ῖ-\u1FDBῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤ\u2126ℨ\u212A-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ]+",
                    @"\s?[!-/:-~！-／：-～‘-‟　-。]+",
                    @"\s+\z",
                    "[一-龥ࠀ-一가-퟿]+",
                    @"\p{N}+",
                ], CleanSpaces: false);
            case "deepseek-coder":
                return new([@"[\r\n]", @"\s?\p{L}+", @"\s?\p{P}+", "[一-龥ࠀ-一가-퟿]+", @"\p{N}"], CleanSpaces: false);
            case "deepseek-v3":
                return new([
                    @"\p{N}{1,3}",
                    "[一-龥぀-ゟ゠-ヿ]+",
                    @"[!""#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
                ], CleanSpaces: false);
            case "falcon":
                return new([@"[\p{P}\$\+<=>\^~\|`]+", Tokenization.Patterns.Gpt2, "[0-9][0-9][0-9]"]);
            case "starcoder" or "refact" or "smollm" or "codeshell" or "exaone" or "minerva-7b":
                return new([@"\p{N}", Tokenization.Patterns.Gpt2], CleanSpaces: name is "refact" or "codeshell" or "exaone" or "minerva-7b" or "starcoder");
            case "command-r":
                return new([@"\p{N}", Tokenization.Patterns.Gpt2], CleanSpaces: false);
            case "gpt-2" or "phi-2" or "jina-es" or "jina-de" or "gigachat" or "jina-v1-en" or "jina-v2-es" or "jina-v2-de"
                or "jina-v2-code" or "roberta-bpe" or "mpt" or "olmo" or "jais":
                return new([Tokenization.Patterns.Gpt2]);
            case "qwen2" or "megrez":
                return new([Tokenization.Patterns.Qwen2], CleanSpaces: name != "qwen2");
            case "stablelm2":
                return new([Tokenization.Patterns.Qwen2]);
            case "poro-chat" or "bloom" or "gpt3-finnish":
                return new([@" ?[^(\s|.,!?…。，、।۔،)]+"], CleanSpaces: name != "poro-chat");
            case "viking":
                return new([@" ?[^(\s|.,!?…。，、।۔،)]+", @"\p{N}"], CleanSpaces: false);
            case "tekken":
                return new([@"[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"],
                    IgnoreMerges: true, CleanSpaces: false, AddBos: true);
            default:
                throw new Scion.Models.Formats.ModelFormatException($"{source}: unknown pre-tokenizer type '{name}' in tokenizer.ggml.pre; " +
                    "known: default, gpt-2, llama-bpe, llama3, qwen2, starcoder, deepseek-llm, deepseek-coder, deepseek-v3, falcon, falcon3, mpt, olmo, " +
                    "dbrx, smaug-bpe, stablelm2, command-r, refact, smollm, codeshell, exaone, minerva-7b, poro-chat, bloom, gpt3-finnish, viking, tekken, chatglm-bpe, megrez, phi-2, roberta-bpe, jais.");
        }
    }

    public CodePointSplitter[] CreateSplitters() =>
        Patterns.Select(p => CodePointSplitter.ForPattern(p, asciiWhitespace: true)).ToArray();
}
