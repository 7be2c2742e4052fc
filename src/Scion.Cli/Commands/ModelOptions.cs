using System.CommandLine;
using Scion.Cli.CommandLine;
using Scion.Models.Adapters;
using Scion.Models.Loading;

namespace Scion.Cli.Commands;

/// <summary>The model options several commands share: --model (default: the bundled model), --tokenizer, --adapter, --threads.</summary>
internal sealed class ModelOptions
{
    public Option<string?> Model { get; } = Opt.Text("--model", "model: a .gguf file, a Hugging Face folder or a llama2.c .bin (default: the bundled models/stories260K.gguf)", "PATH", "-m");
    public Option<string?> Tokenizer { get; } = Opt.Text("--tokenizer", "tokenizer for model files that carry none (a GGUF, tokenizer.json or tokenizer.bin)", "PATH");
    public Option<string?> Adapter { get; } = Opt.Text("--adapter", "a PEFT LoRA / rsLoRA / DoRA adapter folder to apply", "DIR");
    public Option<int?> Threads { get; } = Opt.OptionalInt("--threads", "worker threads (default: one per logical core, or SCION_THREADS)", 1, 1024, "-t");

    /// <summary>--cache-type-k / --cache-type-v, on commands that run the model with a KV cache.</summary>
    public KvCacheOptions? KvCache { get; }

    private readonly bool _adapter, _tokenizer;

    public ModelOptions(bool adapter = true, bool tokenizer = true, bool kvCache = false)
    {
        _adapter = adapter;
        _tokenizer = tokenizer;
        if (kvCache) KvCache = new KvCacheOptions();
    }

    public void AddTo(Command command)
    {
        command.Options.Add(Model);
        if (_tokenizer) command.Options.Add(Tokenizer);
        if (_adapter) command.Options.Add(Adapter);
        command.Options.Add(Threads);
        KvCache?.AddTo(command);
    }

    /// <summary>The --model path (or the bundled model) checked to exist, and the adapter folder if given; before any load.</summary>
    public string ModelPath(ParseResult p, CliIo io)
    {
        string path = PathChecks.ExistingModel(BundledModel.Resolve(p.GetValue(Model), io));
        if (_adapter && p.GetValue(Adapter) is { } dir) PathChecks.ExistingFolder(dir, "--adapter", "adapter");
        return path;
    }

    public LoadedModel Load(ParseResult p, CliIo io, string path)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        string? tokenizer = _tokenizer ? p.GetValue(Tokenizer) : null;
        var loaded = CliProgress.Status(io, $"loading {path}", () => ModelLoader.Load(path, tokenizer));
        if (p.GetValue(Threads) is { } threads) loaded.Model.Pool = new Scion.Tensors.WorkerPool(threads);
        try
        {
            KvCache?.Apply(p, loaded.Model);
        }
        catch
        {
            loaded.Dispose();
            throw;
        }
        io.Err.WriteLine($"loaded {loaded.Format} model {path} in {clock.Elapsed.TotalMilliseconds:F0} ms");
        return loaded;
    }

    public LoraAdapter? LoadAdapter(ParseResult p, LoadedModel model, CliIo io)
    {
        if (!_adapter || p.GetValue(Adapter) is not { } dir) return null;
        var adapter = AdapterLoader.Load(dir, model.Model);
        io.Err.WriteLine($"loaded adapter {dir} ({adapter.Modules().Count()} modules)");
        return adapter;
    }
}
