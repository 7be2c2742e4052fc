using Scion.Models.Llama;
using Scion.Models.Tokenization;

namespace Scion.Models.Loading;

/// <summary>A model with what it came with: tokenizer and chat template when the files carry them.</summary>
public sealed class LoadedModel(LlamaModel model, Tokenizer? tokenizer, string? chatTemplate, string path) : IDisposable
{
    public LlamaModel Model { get; } = model;
    public Tokenizer? Tokenizer { get; } = tokenizer;
    public string? ChatTemplate { get; } = chatTemplate;
    public string Path { get; } = path;
    public string Format => Model.Source switch
    {
        GgufTensorSource => "gguf",
        HfTensorSource => "huggingface",
        Llama2cTensorSource => "llama2.c",
        _ => "memory",
    };

    public Tokenizer RequireTokenizer() => Tokenizer ?? throw new Formats.ModelFormatException(
        $"{Path}: the model files carry no tokenizer; pass --tokenizer with a GGUF, tokenizer.json folder or llama2.c tokenizer.bin.");

    public void Dispose() => Model.Dispose();
}
