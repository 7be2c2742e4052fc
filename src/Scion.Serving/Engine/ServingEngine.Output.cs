using Scion.Serving.Adapters;

namespace Scion.Serving.Engine;

public sealed partial class ServingEngine
{
    /// <summary>A sequence's last token is computed: sample the next one from <paramref name="logits"/> [V], stream it,
    /// and decide whether the choice ends. Choice 0 of an n &gt; 1 request forks into the others first.</summary>
    private void Advance(SequenceState seq, ReadOnlySpan<float> logits)
    {
        var r = seq.Request;
        if (r.Request.N > 1 && !r.Forked)
        {
            // Fork while choice 0 still holds the prompt's blocks (sampling may end it at once), then sample each.
            r.Forked = true;
            var choices = new List<SequenceState> { seq };
            for (int i = 1; i < r.Request.N; i++)
            {
                var child = new SequenceState(_nextSequenceId++, i, r, NewSampler(r, i), _tokenizer);
                _blocks.Fork(seq.Id, child.Id);
                r.Sequences.Add(child);
                _sequences[child.Id] = child;
                child.Computed = seq.Computed;
                child.Running = true;
                _running.Add(child);
                choices.Add(child);
            }
            foreach (var choice in choices) Advance(choice, logits);
            return;
        }
        if (seq.Finished) return;
        if (seq.Generated >= r.Request.MaxTokens)
        {
            FinishSequence(seq, FinishReason.Length);
            return;
        }
        LogitsObserver?.Invoke(r.Id, seq.Index, seq.Generated, logits.ToArray());
        int token = seq.Sampler.Sample(Biased(r.Request.LogitBias, logits), seq.Tokens);
        var logprob = r.Request.Logprobs is int top ? Logprobs.For(logits, token, top) : null;
        if (!r.Request.IgnoreEos && _tokenizer is not null && _tokenizer.IsEndOfGeneration(token))
        {
            FinishSequence(seq, FinishReason.Stop);
            return;
        }
        seq.Tokens.Add(token);
        r.CompletionTokens++;
        _generatedTokens++;
        long now = System.Diagnostics.Stopwatch.GetTimestamp();
        if (r.FirstTokenAt is null)
        {
            r.FirstTokenAt = now;
            _metrics.FirstToken(System.Diagnostics.Stopwatch.GetElapsedTime(r.SubmittedAt, now).TotalSeconds);
        }
        else if (seq.LastTokenAt != 0) _metrics.NextToken(System.Diagnostics.Stopwatch.GetElapsedTime(seq.LastTokenAt, now).TotalSeconds);
        seq.LastTokenAt = now;
        _metrics.Generated();
        string text = seq.Decoder is { } decoder ? seq.Stops.Push(decoder.Push(token)) : "";
        r.Output.Writer.TryWrite(new TokenEvent(seq.Index, token, text, logprob));
        if (seq.Stops.Stopped) FinishSequence(seq, FinishReason.Stop);
        else if (seq.Generated >= r.Request.MaxTokens) FinishSequence(seq, FinishReason.Length);
        // The next step would compute this token at position Count - 1, then sample one beyond: both must fit.
        else if (seq.Tokens.Count >= Math.Min(_model.Config.ContextLength, KvCacheTokens)) FinishSequence(seq, FinishReason.Length);
    }

    private float[] _biased = [];

    /// <summary>The logits the sampler sees: the model's, plus the request's logit bias when it has one.</summary>
    private ReadOnlySpan<float> Biased(IReadOnlyDictionary<int, float>? bias, ReadOnlySpan<float> logits)
    {
        if (bias is null || bias.Count == 0) return logits;
        if (_biased.Length != logits.Length) _biased = new float[logits.Length];
        logits.CopyTo(_biased);
        foreach (var (token, b) in bias) _biased[token] += b;
        return _biased;
    }

    /// <summary>Echo: the log-probability of prompt token p + 1 from the logits at position p.</summary>
    private static void AddPromptLogprob(RequestState r, int position, ReadOnlySpan<float> logits)
    {
        r.PromptLogprobs ??= [null];
        if (position + 1 != r.PromptLogprobs.Count) return; // already gathered before a preemption
        r.PromptLogprobs.Add(Logprobs.For(logits, r.Prompt[position + 1], r.Request.Logprobs ?? 0));
    }

    private static void SendPromptLogprobs(RequestState r)
    {
        r.PromptLogprobs ??= [null];
        r.PromptLogprobsSent = true;
        r.Output.Writer.TryWrite(new PromptLogprobsEvent(r.PromptLogprobs));
    }

    /// <summary>Ends one choice: releases its blocks, sends the text held back and the finish reason; the request
    /// ends with its usage once every choice has.</summary>
    private void FinishSequence(SequenceState seq, FinishReason reason, Exception? error = null)
    {
        if (seq.Finished) return;
        seq.Finished = true;
        _blocks.Free(seq.Id);
        _sequences.Remove(seq.Id);
        if (seq.Running) _running.Remove(seq);
        else _waiting.Remove(seq);
        seq.Running = false;
        string tail = "";
        if (!seq.Stops.Stopped && reason != FinishReason.Error)
            tail = seq.Stops.Push(seq.Decoder?.Flush() ?? "") + seq.Stops.Flush();
        var r = seq.Request;
        r.Output.Writer.TryWrite(new FinishEvent(seq.Index, reason, tail, error));
        _metrics.ChoiceFinished(reason);
        if (--r.Unfinished == 0) CompleteRequest(r);
    }

    /// <summary>Ends every choice of a request (cancel, adapter failure, engine fault), including choices not forked yet.</summary>
    private void FinishRequest(RequestState r, FinishReason reason, Exception? error = null)
    {
        if (r.Done) return;
        foreach (var s in r.Sequences.ToList()) FinishSequence(s, reason, error);
        if (r.Done) return;
        // Choices that never started (the request was waiting, loading, or had not forked yet).
        for (int i = r.Sequences.Count; i < r.Request.N; i++)
        {
            r.Output.Writer.TryWrite(new FinishEvent(i, reason, "", error));
            _metrics.ChoiceFinished(reason);
            if (--r.Unfinished == 0) CompleteRequest(r);
        }
    }

    private void CompleteRequest(RequestState r)
    {
        r.Done = true;
        _active.Remove(r);
        _requestsFinished++;
        long end = System.Diagnostics.Stopwatch.GetTimestamp();
        double Since(long? t) => System.Diagnostics.Stopwatch.GetElapsedTime(r.SubmittedAt, t ?? end).TotalSeconds;
        var timings = new RequestTimings(Since(r.StartedAt), r.FirstTokenAt is null ? null : Since(r.FirstTokenAt), Since(end));
        _metrics.RequestFinished(r.Prompt.Length, timings);
        // The lease goes back before the output completes: a caller that has seen the end may rely on the
        // adapter being unpinned (the store may evict or unload it at once).
        AdapterLease? lease = r.Lease;
        r.Lease = null;
        lease?.Dispose();
        r.Registration.Dispose();
        r.Output.Writer.TryWrite(new UsageEvent(new RequestUsage(r.Prompt.Length, r.CompletionTokens, r.CachedTokens ?? 0), timings));
        r.Output.Writer.TryComplete();
    }
}
