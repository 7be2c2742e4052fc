using Scion.Tensors;

namespace Scion.Models.Sampling;

/// <summary>Picks tokens from logits under <see cref="SamplingOptions"/>; one sampler per sequence (it owns the RNG).</summary>
public sealed class Sampler
{
    private readonly SamplingOptions _options;
    private readonly Xoshiro256 _rng;
    private readonly List<(int Id, float Logit)> _candidates = [];
    private readonly Dictionary<int, int> _counts = [];
    private readonly PriorityQueue<(int Id, float Logit), (float Logit, int NegId)> _heap = new();

    public Sampler(SamplingOptions options)
    {
        options.Validate();
        _options = options;
        _rng = new Xoshiro256(options.Seed);
    }

    private float Adjusted(ReadOnlySpan<float> logits, int id, bool penalize)
    {
        float l = logits[id];
        if (penalize && _counts.TryGetValue(id, out int n))
        {
            l = l > 0 ? l / _options.RepetitionPenalty : l * _options.RepetitionPenalty;
            l -= n * _options.FrequencyPenalty + _options.PresencePenalty;
        }
        return l;
    }

    /// <param name="logits">[V] logits of one row; not modified.</param>
    /// <param name="history">Tokens so far (prompt and generated), for the penalties.</param>
    public int Sample(ReadOnlySpan<float> logits, IReadOnlyList<int> history)
    {
        // NaN compares false with everything: the argmax below would pick token 0 and the softmax give NaN.
        if (!Ops.AllFinite(logits)) throw NonFiniteLogitsException.For(history.Count - 1, null);
        var o = _options;
        bool penalize = o.RepetitionPenalty != 1 || o.FrequencyPenalty != 0 || o.PresencePenalty != 0;
        _counts.Clear();
        if (penalize)
            for (int i = Math.Max(0, history.Count - o.PenaltyWindow); i < history.Count; i++)
                _counts[history[i]] = _counts.GetValueOrDefault(history[i]) + 1;

        if (o.Temperature == 0)
        {
            int best = 0;
            float bestLogit = float.NegativeInfinity;
            for (int i = 0; i < logits.Length; i++)
            {
                float l = Adjusted(logits, i, penalize);
                if (l > bestLogit) { bestLogit = l; best = i; }
            }
            return best;
        }

        _candidates.Clear();
        if (o.TopK > 0 && o.TopK < logits.Length)
        {
            // Keep the k best with a min-heap: O(V log k) instead of sorting the whole vocabulary every token. Ids come
            // in increasing order, so a tie with the worst kept never replaces it: among equal logits the lower ids stay
            // (the heap's worst is the highest id of the lowest logit). The loop below drains the heap for the next call.
            for (int i = 0; i < logits.Length; i++)
            {
                float l = Adjusted(logits, i, penalize);
                if (_heap.Count < o.TopK) _heap.Enqueue((i, l), (l, -i));
                else if (l > _heap.Peek().Logit) _heap.EnqueueDequeue((i, l), (l, -i));
            }
            while (_heap.Count > 0) _candidates.Add(_heap.Dequeue());
        }
        else
        {
            for (int i = 0; i < logits.Length; i++) _candidates.Add((i, Adjusted(logits, i, penalize)));
        }
        // Sort descending by logit (ties by id for determinism).
        _candidates.Sort((a, b) => a.Logit != b.Logit ? b.Logit.CompareTo(a.Logit) : a.Id.CompareTo(b.Id));
        int count = _candidates.Count;

        // Softmax over the kept candidates at temperature.
        var probs = new double[count];
        double max = _candidates[0].Logit / o.Temperature, sum = 0;
        for (int i = 0; i < count; i++) sum += probs[i] = Math.Exp(_candidates[i].Logit / o.Temperature - max);
        for (int i = 0; i < count; i++) probs[i] /= sum;

        if (o.TopP < 1)
        {
            double cumulative = 0;
            for (int i = 0; i < count; i++)
            {
                cumulative += probs[i];
                if (cumulative >= o.TopP) { count = i + 1; break; }
            }
        }
        if (o.MinP > 0)
        {
            double threshold = probs[0] * o.MinP;
            int keep = 1;
            while (keep < count && probs[keep] >= threshold) keep++;
            count = keep;
        }

        double total = 0;
        for (int i = 0; i < count; i++) total += probs[i];
        double r = _rng.NextDouble() * total;
        for (int i = 0; i < count; i++)
        {
            r -= probs[i];
            if (r < 0) return _candidates[i].Id;
        }
        return _candidates[count - 1].Id;
    }
}
