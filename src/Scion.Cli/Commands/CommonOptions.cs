using Scion.Cli.CommandLine;
using Scion.Models.Adapters;
using Scion.Models.Loading;
using Scion.Models.Sampling;

namespace Scion.Cli.Commands;

/// <summary>Options several commands share: the model, its adapter, sampling.</summary>
internal static class CommonOptions
{
    public static readonly string[] Model = ["model", "adapter", "tokenizer", "threads"];
    public static readonly string[] Sampling = ["temperature", "top-k", "top-p", "min-p", "repeat-penalty", "frequency-penalty", "presence-penalty", "repeat-last-n", "seed"];

    public static LoadedModel LoadModel(CliArguments a, CliIo io)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var loaded = ModelLoader.Load(a.Require("model"), a.String("tokenizer"));
        if (a.Has("threads")) loaded.Model.Pool = new Scion.Tensors.WorkerPool(a.Int("threads", 1, 1, 1024));
        io.Err.WriteLine($"loaded {loaded.Format} model {a.Require("model")} in {clock.Elapsed.TotalMilliseconds:F0} ms");
        return loaded;
    }

    public static LoraAdapter? LoadAdapter(CliArguments a, LoadedModel model, CliIo io)
    {
        if (a.String("adapter") is not { } dir) return null;
        var adapter = AdapterLoader.Load(dir, model.Model);
        io.Err.WriteLine($"loaded adapter {dir} ({adapter.Modules().Count()} modules)");
        return adapter;
    }

    public static SamplingOptions ParseSampling(CliArguments a)
    {
        var defaults = new SamplingOptions();
        var o = new SamplingOptions
        {
            Temperature = a.Float("temperature", defaults.Temperature),
            TopK = a.Int("top-k", defaults.TopK, 0),
            TopP = a.Float("top-p", defaults.TopP),
            MinP = a.Float("min-p", defaults.MinP),
            RepetitionPenalty = a.Float("repeat-penalty", defaults.RepetitionPenalty),
            FrequencyPenalty = a.Float("frequency-penalty", 0),
            PresencePenalty = a.Float("presence-penalty", 0),
            PenaltyWindow = a.Int("repeat-last-n", defaults.PenaltyWindow, 0),
            Seed = a.ULong("seed", defaults.Seed),
        };
        try
        {
            o.Validate();
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
        return o;
    }

    /// <summary>A literal backslash-n in a prompt line means a newline.</summary>
    public static string Unescape(string line) => line.Replace("\\n", "\n", StringComparison.Ordinal);
}
