using System.Text.Json;
using System.Text.Json.Nodes;

namespace Scion.Models.Tests.Tokenization;

/// <summary>A temporary Hugging Face tokenizer folder written from JSON nodes; deleted on dispose.</summary>
internal sealed class HuggingFaceFolder : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"scion-hf-{Guid.NewGuid():N}");

    public HuggingFaceFolder(JsonNode tokenizer, JsonNode? config = null)
    {
        Directory.CreateDirectory(Path);
        File.WriteAllText(System.IO.Path.Combine(Path, "tokenizer.json"), tokenizer.ToJsonString());
        if (config is not null) File.WriteAllText(System.IO.Path.Combine(Path, "tokenizer_config.json"), config.ToJsonString());
    }

    public void Dispose() => Directory.Delete(Path, recursive: true);

    public static JsonObject Vocab(IReadOnlyList<string> tokens)
    {
        var vocab = new JsonObject();
        for (int i = 0; i < tokens.Count; i++) vocab[tokens[i]] = i;
        return vocab;
    }

    public static JsonNode Parse(string json) => JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { AllowTrailingCommas = true })!;
}
