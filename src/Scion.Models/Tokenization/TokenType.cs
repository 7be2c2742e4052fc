namespace Scion.Models.Tokenization;

/// <summary>Token types as GGUF stores them in <c>tokenizer.ggml.token_type</c> (llama.cpp's llama_token_type).</summary>
public enum TokenType
{
    Undefined = 0,
    Normal = 1,
    Unknown = 2,
    /// <summary>Control tokens (BOS, EOS, chat markers): matched in text only when parsing special tokens.</summary>
    Control = 3,
    /// <summary>Added tokens that are always matched as whole units, even in user text (as llama.cpp and Hugging Face do).</summary>
    UserDefined = 4,
    Unused = 5,
    /// <summary>Byte-fallback tokens <c>&lt;0xNN&gt;</c>.</summary>
    Byte = 6,
}
