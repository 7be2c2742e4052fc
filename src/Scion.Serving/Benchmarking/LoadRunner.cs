using System.Collections.Concurrent;
using System.Diagnostics;

namespace Scion.Serving.Benchmarking;

/// <summary>Runs a <see cref="LoadPlan"/> against a target: closed loop or Poisson, bounded by request count and
/// duration; samples the target's counters (KV use) every <c>sampleEvery</c> and reports progress then.</summary>
public static class LoadRunner
{
    public static async Task<BenchReport> RunAsync(LoadPlan plan, ILoadTarget target, Action<BenchProgress>? progress = null,
        TimeSpan? sampleEvery = null, CancellationToken cancellationToken = default)
    {
        var spec = plan.Spec;
        var clock = Stopwatch.StartNew();
        double Now() => clock.Elapsed.TotalSeconds;
        bool TimeLeft() => spec.DurationSeconds is not { } d || Now() < d;
        var start = target.Counters();
        var outcomes = new ConcurrentBag<RequestOutcome>();
        int sent = 0, next = -1;
        long outputSoFar = 0;
        int completed = 0, failed = 0;

        async Task One(PlannedRequest r)
        {
            Interlocked.Increment(ref sent);
            var o = await target.RunAsync(r, Now, cancellationToken).ConfigureAwait(false);
            outcomes.Add(o);
            Interlocked.Add(ref outputSoFar, o.TokenSeconds.Count);
            if (o.Error is null) Interlocked.Increment(ref completed); else Interlocked.Increment(ref failed);
        }

        var work = new List<Task>();
        if (spec.RequestRate is null)
        {
            for (int w = 0; w < spec.Concurrency; w++)
                work.Add(Task.Run(async () =>
                {
                    int i;
                    while (TimeLeft() && !cancellationToken.IsCancellationRequested && (i = Interlocked.Increment(ref next)) < plan.Requests.Count)
                        await One(plan.Requests[i]).ConfigureAwait(false);
                }, cancellationToken));
        }
        else
        {
            work.Add(Task.Run(async () =>
            {
                var open = new List<Task>();
                foreach (var r in plan.Requests)
                {
                    double wait = r.ArrivalSeconds - Now();
                    if (wait > 0) await Task.Delay(TimeSpan.FromSeconds(wait), cancellationToken).ConfigureAwait(false);
                    if (!TimeLeft()) break;
                    open.Add(One(r));
                }
                await Task.WhenAll(open).ConfigureAwait(false);
            }, cancellationToken));
        }
        Task<RequestOutcome>? probe = null;
        if (plan.LongPrompt is { } lp)
            probe = Task.Run(async () =>
            {
                await Task.Delay(TimeSpan.FromSeconds(lp.ArrivalSeconds), cancellationToken).ConfigureAwait(false);
                return await target.RunAsync(lp, Now, cancellationToken).ConfigureAwait(false);
            }, cancellationToken);

        // Sample the counters until the load is done.
        var all = Task.WhenAll(probe is null ? work : [.. work, probe]);
        var kvSamples = new List<double>();
        var period = sampleEvery ?? TimeSpan.FromMilliseconds(250);
        while (!all.IsCompleted)
        {
            await Task.WhenAny(all, Task.Delay(period, cancellationToken)).ConfigureAwait(false);
            var c = target.Counters();
            double? kv = c is { KvBlocksTotal: > 0 } ? (double)c.KvBlocksUsed / c.KvBlocksTotal : null;
            if (kv is { } f) kvSamples.Add(f);
            progress?.Invoke(new BenchProgress(Volatile.Read(ref sent), Volatile.Read(ref completed), Volatile.Read(ref failed),
                plan.Requests.Count, Interlocked.Read(ref outputSoFar), Now(), Volatile.Read(ref sent) - Volatile.Read(ref completed) - Volatile.Read(ref failed), kv));
        }
        await all.ConfigureAwait(false);
        var end = target.Counters();
        return Summarise(plan, target.Description, [.. outcomes.OrderBy(o => o.Index)], probe?.Result, start, end, kvSamples);
    }

    internal static BenchReport Summarise(LoadPlan plan, string description, IReadOnlyList<RequestOutcome> outcomes, RequestOutcome? probe,
        TargetCounters? start, TargetCounters? end, IReadOnlyList<double> kvSamples)
    {
        var ok = outcomes.Where(o => o.Error is null).ToList();
        double first = outcomes.Count == 0 ? 0 : outcomes.Min(o => o.SentSeconds);
        double last = outcomes.Count == 0 ? 0 : outcomes.Max(o => o.EndSeconds);
        var gaps = ok.SelectMany(o => o.TokenSeconds.Zip(o.TokenSeconds.Skip(1), (a, b) => b - a)).ToList();
        double? Ttft(RequestOutcome o) => o.TokenSeconds.Count > 0 ? o.TokenSeconds[0] - o.SentSeconds : null;
        var firstSent = ok.OrderBy(o => o.SentSeconds).ThenBy(o => o.Index).FirstOrDefault();
        var later = ok.Where(o => !ReferenceEquals(o, firstSent)).Select(Ttft).OfType<double>().ToList();
        double? worstDuringProbe = null;
        if (probe is { TokenSeconds.Count: > 0 })
        {
            // Gaps that overlap the probe's prefill (sent → its first token) are the ones it could have stretched.
            double from = probe.SentSeconds, to = probe.TokenSeconds[0];
            var during = ok.SelectMany(o => o.TokenSeconds.Zip(o.TokenSeconds.Skip(1), (a, b) => (a, b)))
                .Where(g => g.b >= from && g.a <= to).Select(g => g.b - g.a).ToList();
            if (during.Count > 0) worstDuringProbe = during.Max();
        }
        EngineCounters? engine = null;
        if (start is not null && end is not null)
            engine = new EngineCounters(
                end.KvBlocksTotal > 0 ? (double)end.KvBlocksPeak / end.KvBlocksTotal : 0,
                kvSamples.Count > 0 ? kvSamples.Average() : 0, end.KvBlocksTotal,
                end.PrefixQueryTokens - start.PrefixQueryTokens, end.PrefixHitTokens - start.PrefixHitTokens,
                end.Preemptions - start.Preemptions, end.AdapterLoads - start.AdapterLoads, end.AdapterEvictions - start.AdapterEvictions,
                end.Steps - start.Steps);
        return new BenchReport
        {
            Target = description,
            RequestsCompleted = ok.Count,
            RequestsFailed = outcomes.Count - ok.Count,
            FirstError = outcomes.FirstOrDefault(o => o.Error is not null)?.Error,
            PromptTokens = ok.Sum(o => (long)o.PromptTokens),
            OutputTokens = ok.Sum(o => (long)o.TokenSeconds.Count),
            WallSeconds = last - first,
            TimeToFirstToken = LatencySummary.Of(ok.Select(Ttft).OfType<double>()),
            InterTokenLatency = LatencySummary.Of(gaps),
            EndToEnd = LatencySummary.Of(ok.Select(o => o.EndSeconds - o.SentSeconds)),
            FirstRequestTtft = firstSent is null ? null : Ttft(firstSent),
            LaterRequestsTtftP50 = later.Count > 0 ? LatencySummary.Of(later).P50 : null,
            LongPromptTtft = probe is null ? null : Ttft(probe),
            WorstGapDuringLongPrompt = worstDuringProbe,
            LongPromptError = probe?.Error,
            Engine = engine,
        };
    }
}
