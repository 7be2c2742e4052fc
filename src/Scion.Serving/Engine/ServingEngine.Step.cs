using System.Diagnostics;
using System.Runtime.InteropServices;
using Scion.Models.Adapters;
using Scion.Models.Llama;
using Scion.Models.Sampling;
using Scion.Tensors;
using Scion.Serving.Scheduling;

namespace Scion.Serving.Engine;

public sealed partial class ServingEngine
{
    // The step's logits, reused from step to step (engine thread).
    private float[]? _logits;

    /// <summary>One engine step: plan, preempt, admit, grow blocks, one forward, then sample and stream.</summary>
    private void Step()
    {
        var clock = Stopwatch.StartNew();
        int decoding = _running.Count(s => s.Tokens.Count - s.Computed == 1);
        var budget = _budget with { MaxTokens = _governor.TokenBudget(_budget.MaxTokens, decoding) };
        var plan = Scheduler.Schedule([.. _running.Select(RunningView)], WaitingViews(), _blocks.FreeBlocks, budget);
        foreach (long id in plan.Preempted) Preempt(_sequences[(int)id]);

        var work = new List<(SequenceState Seq, int Count)>();
        foreach (var s in plan.Scheduled)
        {
            var seq = _sequences[(int)s.Id];
            int count = s.Tokens;
            if (s.Admitted)
            {
                var r = seq.Request;
                bool usePrefix = _options.PrefixCaching && !r.WantsPromptLogprobs;
                seq.Computed = _blocks.Admit(seq.Id, CollectionsMarshal.AsSpan(seq.Tokens), seq.AdapterName, usePrefix);
                r.CachedTokens ??= seq.Computed;
                count = Math.Min(count, seq.Tokens.Count - seq.Computed);
                _waiting.Remove(seq);
                _running.Add(seq);
                seq.Running = true;
            }
            if (!_blocks.EnsureCapacity(seq.Id, seq.Computed + count))
            {
                // The plan's block count was an estimate (a prefix hit can be evicted by an earlier admission of the
                // same step); whoever does not fit waits for a later step.
                Preempt(seq, counted: !s.Admitted);
                continue;
            }
            seq.Request.StartedAt ??= System.Diagnostics.Stopwatch.GetTimestamp();
            work.Add((seq, count));
        }
        if (work.Count == 0)
        {
            FailStuck(plan);
            return;
        }

        var (batch, logitOwners) = BuildBatch(work);
        BatchObserver?.Invoke(batch);
        Span<float> logits;
        try
        {
            long forwardStart = Stopwatch.GetTimestamp();
            logits = _model.Forward(batch, _blocks.Cache, ref _logits);
            _governor.Observe(batch.Count, Stopwatch.GetElapsedTime(forwardStart).TotalSeconds);
        }
        catch (Exception e)
        {
            foreach (var r in work.Select(w => w.Seq.Request).Distinct().ToList())
                FinishRequest(r, FinishReason.Error, new InvalidOperationException($"The forward pass failed: {e.Message}", e));
            return;
        }
        _steps++;
        foreach (var (seq, count) in work)
        {
            // Every row but a decode's one is prompt work (first prefill or recompute after preemption).
            _promptTokens += count - (seq.Generated > 0 && seq.Computed + count == seq.Tokens.Count ? 1 : 0);
            seq.Computed += count;
            _blocks.Commit(seq.Id, CollectionsMarshal.AsSpan(seq.Tokens));
        }
        int vocab = _model.Config.Vocab;
        for (int row = 0; row < logitOwners.Count; row++)
        {
            var (seq, position) = logitOwners[row];
            if (seq.Finished) continue; // a fork earlier in this loop may have finished the request
            var rowLogits = logits.Slice(row * vocab, vocab);
            if (!Ops.AllFinite(rowLogits))
            {
                // Before prompt logprobs or sampling touch it: NaN would reach the client as text or break its JSON.
                FinishRequest(seq.Request, FinishReason.Error, NonFiniteLogitsException.For(position, seq.AdapterName));
                continue;
            }
            if (position < seq.PromptLength - 1) AddPromptLogprob(seq.Request, position, rowLogits);
            else
            {
                if (seq.Request.WantsPromptLogprobs) SendPromptLogprobs(seq.Request);
                Advance(seq, rowLogits);
            }
        }
        _stepSeconds += clock.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// The step's rows, grouped so rows of one adapter are contiguous (one <see cref="ForwardBatch.Segments"/> run
    /// per adapter, for the batched adapter math); within a group, in plan order. Returns which sequence and
    /// position each logits row belongs to.
    /// </summary>
    private static (ForwardBatch Batch, List<(SequenceState Seq, int Position)> Owners) BuildBatch(List<(SequenceState Seq, int Count)> work)
    {
        var batch = new ForwardBatch();
        var owners = new List<(SequenceState, int)>();
        var groups = work.GroupBy(w => (object?)w.Seq.Request.Adapter ?? NoAdapter);
        foreach (var group in groups)
        {
            foreach (var (seq, count) in group)
            {
                LoraAdapter? adapter = seq.Request.Adapter;
                bool promptRows = seq.Request.WantsPromptLogprobs;
                int last = seq.Computed + count - 1;
                for (int p = seq.Computed; p <= last; p++)
                {
                    // Logits: the row whose next token is unknown (it samples), and prompt rows for echo.
                    bool wants = (p == last && last == seq.Tokens.Count - 1) || (promptRows && p < seq.PromptLength - 1);
                    batch.Add(seq.Id, seq.Tokens[p], p, wants, adapter);
                    if (wants) owners.Add((seq, p));
                }
            }
        }
        return (batch, owners);
    }

    private static readonly object NoAdapter = new();

    private SequenceView RunningView(SequenceState s) => new(
        s.Id, s.Arrival, s.AdapterName, s.Tokens.Count, s.Computed,
        HeldBlocks: _blocks.HeldBlocks(s.Id),
        ExclusiveBlocks: _blocks.ExclusiveBlocks(s.Id),
        SharedWriteBlock: _blocks.WritesIntoSharedBlock(s.Id));

    /// <summary>The waiting sequences the scheduler could admit this step: it takes at most MaxSequences, so looking
    /// further (and probing the prefix cache for each) would be wasted.</summary>
    private List<SequenceView> WaitingViews()
    {
        var views = new List<SequenceView>();
        foreach (var s in _waiting)
        {
            if (views.Count >= 2 * _budget.MaxSequences) break;
            var (cached, evictable) = _options.PrefixCaching && !s.Request.WantsPromptLogprobs
                ? _blocks.Probe(CollectionsMarshal.AsSpan(s.Tokens), s.AdapterName) : (0, 0);
            views.Add(new SequenceView(s.Id, s.Arrival, s.AdapterName, s.Tokens.Count, CachedTokens: cached, EvictableCachedBlocks: evictable));
        }
        return views;
    }

    /// <summary>Frees a running sequence's blocks and sends it back to wait; it recomputes prompt and generated tokens
    /// later, keeping its sampler, decoder and stop matcher, so its output is what it would have been.</summary>
    private void Preempt(SequenceState seq, bool counted = true)
    {
        _blocks.Free(seq.Id);
        seq.Computed = 0;
        if (seq.Running)
        {
            _running.Remove(seq);
            seq.Running = false;
            AddWaiting(seq);
            if (counted) _preemptions++;
        }
    }

    /// <summary>Nothing could run although sequences wait: with no sequence running every block is free, so the first
    /// waiting one needs more KV memory than the engine has (a long generation outgrew the cache). It ends with
    /// Length rather than blocking everyone behind it.</summary>
    private void FailStuck(StepPlan plan)
    {
        if (_running.Count > 0 || _waiting.Count == 0 || plan.Scheduled.Count > 0) return;
        FinishSequence(_waiting[0], FinishReason.Length);
    }
}
