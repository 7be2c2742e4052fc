namespace Scion.Serving.Engine;

/// <summary>Log-probabilities from raw logits (the model's distribution, before temperature and filters, as
/// OpenAI and vLLM report them).</summary>
internal static class Logprobs
{
    /// <summary>log Σ exp(logits), in double so a 100k vocabulary sums without losing the small terms.</summary>
    public static double LogSumExp(ReadOnlySpan<float> logits)
    {
        float max = float.NegativeInfinity;
        foreach (float l in logits) max = Math.Max(max, l);
        double sum = 0;
        foreach (float l in logits) sum += Math.Exp(l - max);
        return max + Math.Log(sum);
    }

    /// <param name="logits">[V] one row.</param>
    /// <param name="top">Alternatives to list (0..20), best first, ties by lower id.</param>
    public static TokenLogprob For(ReadOnlySpan<float> logits, int token, int top)
    {
        double lse = LogSumExp(logits);
        var best = new List<int>(top + 1);
        for (int i = 0; i < logits.Length && top > 0; i++)
        {
            if (best.Count == top && logits[i] <= logits[best[^1]]) continue;
            int at = best.Count;
            while (at > 0 && logits[best[at - 1]] < logits[i]) at--;
            best.Insert(at, i);
            if (best.Count > top) best.RemoveAt(top);
        }
        var alternatives = new TopLogprob[best.Count];
        for (int i = 0; i < best.Count; i++) alternatives[i] = new TopLogprob(best[i], (float)(logits[best[i]] - lse));
        return new TokenLogprob(token, (float)(logits[token] - lse), alternatives);
    }
}
