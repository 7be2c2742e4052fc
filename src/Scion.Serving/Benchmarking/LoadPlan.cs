using Scion.Tensors;

namespace Scion.Serving.Benchmarking;

/// <param name="Index">Order of sending; -1 for the long-prompt probe.</param>
/// <param name="ArrivalSeconds">When to send, from the start (Poisson and the probe); 0 in a closed loop.</param>
/// <param name="Adapter">Index into the adapter names; null: the base model.</param>
public sealed record PlannedRequest(int Index, double ArrivalSeconds, int[] PromptTokens, int MaxTokens, int? Adapter);

/// <summary>Every request of a run, drawn up front from the seed: the same spec gives the same plan, token for token,
/// whatever engine or server it is run against.</summary>
public sealed record LoadPlan(LoadSpec Spec, IReadOnlyList<PlannedRequest> Requests, PlannedRequest? LongPrompt)
{
    public static LoadPlan Create(LoadSpec spec)
    {
        spec.Validate();
        var rng = new Xoshiro256(spec.Seed);
        int Token() => 1 + rng.NextInt(spec.Vocab - 1);
        int[] prefix = [.. Enumerable.Range(0, spec.SharedPrefixTokens).Select(_ => Token())];
        var popularity = spec.Adapters > 0 ? new AdapterPopularity(spec.Adapters, spec.ZipfExponent) : null;
        var list = new List<PlannedRequest>(spec.Requests);
        double t = 0;
        for (int i = 0; i < spec.Requests; i++)
        {
            int length = Math.Max(spec.PromptTokens.Sample(rng), prefix.Length + 1);
            var prompt = new int[length];
            prefix.CopyTo(prompt, 0);
            for (int j = prefix.Length; j < length; j++) prompt[j] = Token();
            int output = spec.OutputTokens.Sample(rng);
            int? adapter = popularity?.Sample(rng);
            if (spec.RequestRate is { } rate) t += -Math.Log(1 - rng.NextDouble()) / rate;
            list.Add(new PlannedRequest(i, spec.RequestRate is null ? 0 : t, prompt, output, adapter));
        }
        PlannedRequest? probe = spec.LongPromptTokens > 0
            ? new PlannedRequest(-1, spec.LongPromptAtSeconds, [.. Enumerable.Range(0, spec.LongPromptTokens).Select(_ => Token())], 1, null)
            : null;
        return new LoadPlan(spec, list, probe);
    }
}
