using Scion.Models.Generation;
using Scion.Models.Llama;
using Scion.Models.Loading;
using Scion.Models.Tokenization;
using Scion.Server;

namespace Scion.Fuzz;

/// <summary>
/// What the targets parse against, built once per process: the bundled stories260K model (its SentencePiece
/// tokenizer, a server host for request bodies), a tiny random model for adapters, and a byte-level BPE vocabulary.
/// </summary>
public static class Fixtures
{
    /// <summary>The model adapters are loaded against: RandomModel's tiny GQA config.</summary>
    public static LlamaConfig TinyConfig { get; } = RandomModel.TinyConfig();

    private static readonly Lazy<string> Root = new(FindRepositoryRoot);
    private static readonly Lazy<LoadedModel> Stories = new(() => ModelLoader.Load(Path.Combine(RepositoryRoot, "models", "stories260K.gguf")));
    private static readonly Lazy<ModelHost> ServerHost = new(() =>
        ModelHostFactory.Create(ModelLoader.Load(StoriesPath), new ModelHostSettings { ModelPath = StoriesPath }));
    private static readonly Lazy<LlamaModel> Tiny = new(() => new LlamaModel(TinyConfig, RandomModel.Build(TinyConfig, 7)));
    private static readonly Lazy<Tokenizer> ByteLevel = new(() => Tokenizer.FromGguf(Seeds.ByteLevelVocabulary().Metadata));

    public static string RepositoryRoot => Root.Value;
    public static string StoriesPath => Path.Combine(RepositoryRoot, "models", "stories260K.gguf");

    /// <summary>stories260K's SentencePiece tokenizer (512 tokens, byte fallback).</summary>
    public static Tokenizer StoriesTokenizer => Stories.Value.Tokenizer!;

    /// <summary>The GPT-2 style byte-level BPE vocabulary <see cref="Seeds.ByteLevelVocabulary"/> builds.</summary>
    public static Tokenizer ByteLevelTokenizer => ByteLevel.Value;

    /// <summary>The ChatML template `scion chat` falls back to.</summary>
    public static string ChatTemplate => ChatSession.FallbackTemplate;

    /// <summary>A served stories260K, as `scion serve` builds it.</summary>
    public static ModelHost Host => ServerHost.Value;

    public static ServerOptions ServerOptions { get; } = new();

    public static LlamaModel TinyModel => Tiny.Value;

    private static string FindRepositoryRoot()
    {
        if (Environment.GetEnvironmentVariable("SCION_REPO") is { Length: > 0 } env) return env;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (System.IO.File.Exists(Path.Combine(dir.FullName, "Scion.slnx"))) return dir.FullName;
        throw new DirectoryNotFoundException($"Could not find Scion.slnx above {AppContext.BaseDirectory}; set SCION_REPO to the repository root.");
    }
}
