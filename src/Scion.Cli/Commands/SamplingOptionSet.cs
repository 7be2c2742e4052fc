using System.CommandLine;
using Scion.Cli.CommandLine;
using Scion.Models.Sampling;

namespace Scion.Cli.Commands;

/// <summary>Sampling options of generate and chat. Without --seed a random seed is drawn and printed, as llama.cpp does.</summary>
internal sealed class SamplingOptionSet
{
    private static readonly SamplingOptions Defaults = new();

    public Option<float> Temperature { get; } = Opt.Float("--temperature", Defaults.Temperature, "sampling temperature; 0 = greedy", 0, 100);
    public Option<int> TopK { get; } = Opt.Int("--top-k", Defaults.TopK, "keep the K most likely tokens; 0 = off");
    public Option<float> TopP { get; } = Opt.Float("--top-p", Defaults.TopP, "nucleus sampling: keep tokens up to this cumulative probability; 1 = off", 0, 1);
    public Option<float> MinP { get; } = Opt.Float("--min-p", Defaults.MinP, "drop tokens less likely than this times the most likely one; 0 = off", 0, 1);
    public Option<float> RepeatPenalty { get; } = Opt.Float("--repeat-penalty", Defaults.RepetitionPenalty, "divide logits of recent tokens by this; 1 = off", 0, 100);
    public Option<float> FrequencyPenalty { get; } = Opt.Float("--frequency-penalty", 0, "subtract count x this from recent tokens' logits", -100, 100);
    public Option<float> PresencePenalty { get; } = Opt.Float("--presence-penalty", 0, "subtract this from logits of tokens seen recently", -100, 100);
    public Option<int> RepeatLastN { get; } = Opt.Int("--repeat-last-n", Defaults.PenaltyWindow, "how many recent tokens the penalties look at");
    public Option<ulong?> Seed { get; } = Opt.OptionalULong("--seed", "random seed (default: a random one, printed on stderr; give it to reproduce a run)", "-s");

    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { Temperature, TopK, TopP, MinP, RepeatPenalty, FrequencyPenalty, PresencePenalty, RepeatLastN, Seed })
            command.Options.Add(o);
    }

    /// <summary>The seed given, or a fresh random one reported on stderr.</summary>
    public ulong ResolveSeed(ParseResult p, CliIo io)
    {
        if (p.GetValue(Seed) is { } seed) return seed;
        ulong drawn = (ulong)Random.Shared.NextInt64(0, int.MaxValue);
        io.Err.WriteLine($"seed {drawn} (pass --seed {drawn} to reproduce)");
        return drawn;
    }

    public SamplingOptions Parse(ParseResult p, ulong seed)
    {
        var o = new SamplingOptions
        {
            Temperature = p.GetValue(Temperature),
            TopK = p.GetValue(TopK),
            TopP = p.GetValue(TopP),
            MinP = p.GetValue(MinP),
            RepetitionPenalty = p.GetValue(RepeatPenalty),
            FrequencyPenalty = p.GetValue(FrequencyPenalty),
            PresencePenalty = p.GetValue(PresencePenalty),
            PenaltyWindow = p.GetValue(RepeatLastN),
            Seed = seed,
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
}
