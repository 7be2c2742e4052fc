using System.Diagnostics;
using Scion.Models.Adapters;
using Scion.Models.KvCache;
using Scion.Models.Llama;
using Scion.Tensors;

namespace Scion.Models.Bench;

/// <summary>What to run: llama-bench's pp (prefill) and tg (decode) tests.</summary>
public sealed record BenchOptions
{
    /// <summary>Prefill test: one forward of this many random tokens from position 0 (0 skips it).</summary>
    public int PromptTokens { get; init; } = 512;
    /// <summary>Decode test: this many single-token steps per sequence (0 skips it).</summary>
    public int GenTokens { get; init; } = 128;
    public int Repetitions { get; init; } = 3;
    /// <summary>Sequences decoded together per step; each step is one forward of <see cref="Batch"/> rows.</summary>
    public int Batch { get; init; } = 1;
    /// <summary>Cached positions each sequence already has when decoding starts (0: a real 4-token prompt).</summary>
    public int Depth { get; init; }
    public ulong Seed { get; init; } = 1234;
    public LoraAdapter? Adapter { get; init; }
}

/// <summary>
/// Seconds of each repetition of each test, the positions decoding started from, and the process CPU seconds each
/// test used: CPU ÷ (wall × threads) well below 1 means the threads were waiting (for memory, for each other, or
/// for a CPU that other processes hold), which is how a benchmark on a shared machine shows it was starved.
/// </summary>
public sealed record BenchTimings(double[] PrefillSeconds, double[] DecodeSeconds, int DecodeStart, double[] PrefillCpuSeconds, double[] DecodeCpuSeconds);

/// <summary>
/// Times prefill and decode of a model as llama-bench does: random tokens (the content does not change the work),
/// one untimed warm-up that also faults in every mapped weight page, then N timed repetitions.
/// </summary>
public static class ModelBench
{
    /// <summary>Tokens of the real prompt each sequence gets before decoding when no depth is asked for.</summary>
    public const int ShortPrompt = 4;

    /// <summary>Untimed decode steps before timing starts.</summary>
    public const int WarmDecodeSteps = 8;

    public static BenchTimings Run(LlamaModel model, BenchOptions o, Action<string>? progress = null)
    {
        var c = model.Config;
        var rng = new Xoshiro256(o.Seed);
        int RandomToken() => rng.NextInt(c.Vocab);
        int[] Tokens(int n) => Enumerable.Range(0, n).Select(_ => RandomToken()).ToArray();

        int decodeStart = o.Depth > 0 ? o.Depth : ShortPrompt;
        int need = Math.Max(o.PromptTokens, decodeStart + o.GenTokens) + 1;
        if (need > c.ContextLength)
            progress?.Invoke($"note: the test needs {need} positions, more than the model's context of {c.ContextLength}; running anyway.");
        var cache = model.NewCache(Math.Max(o.PromptTokens, o.Batch * (decodeStart + o.GenTokens + 1)) + 16 * o.Batch);

        // Warm-up: touches every weight (first use of a mapping faults pages in) and runs both the prefill and the
        // decode kernels often enough that tiered compilation has replaced them with optimized code; without the
        // decode steps the first timed decode repetition ran up to 2x slower than the others.
        int warmPrompt = Math.Min(Math.Max(o.PromptTokens, ShortPrompt), 64);
        model.Forward(new ForwardBatch().AddSequence(0, Tokens(warmPrompt), 0, o.Adapter), cache);
        for (int i = 0; i < WarmDecodeSteps; i++)
        {
            var b = new ForwardBatch();
            // Sequence 0 continues the warm-up prompt; the others start empty.
            for (int s = 0; s < o.Batch; s++) b.Add(s, RandomToken(), s == 0 ? warmPrompt + i : i, wantLogits: true, o.Adapter);
            model.Forward(b, cache);
        }
        cache.Clear();

        var prefill = new double[o.PromptTokens > 0 ? o.Repetitions : 0];
        var prefillCpu = new double[prefill.Length];
        for (int r = 0; r < prefill.Length; r++)
        {
            var batch = new ForwardBatch().AddSequence(0, Tokens(o.PromptTokens), 0, o.Adapter);
            var cpu0 = CpuTime();
            long t0 = Stopwatch.GetTimestamp();
            model.Forward(batch, cache);
            prefill[r] = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            prefillCpu[r] = (CpuTime() - cpu0).TotalSeconds;
            cache.Clear();
            progress?.Invoke($"pp{o.PromptTokens} rep {r + 1}/{o.Repetitions}: {o.PromptTokens / prefill[r]:F2} tokens/s");
        }

        var decode = new double[o.GenTokens > 0 ? o.Repetitions : 0];
        var decodeCpu = new double[decode.Length];
        for (int r = 0; r < decode.Length; r++)
        {
            for (int s = 0; s < o.Batch; s++)
            {
                if (o.Depth > 0)
                {
                    // Decode time does not depend on what the cache holds, so a deep context is reserved rather than
                    // prefilled (a real 2048-token prefill would dominate the run).
                    var table = cache.Reserve(s, o.Depth);
                    table.Length = o.Depth;
                }
                else
                {
                    model.Forward(new ForwardBatch().AddSequence(s, Tokens(ShortPrompt), 0, o.Adapter), cache);
                }
            }
            var steps = Enumerable.Range(0, o.GenTokens).Select(i =>
            {
                var b = new ForwardBatch();
                for (int s = 0; s < o.Batch; s++) b.Add(s, RandomToken(), decodeStart + i, wantLogits: true, o.Adapter);
                return b;
            }).ToArray();
            var cpu0 = CpuTime();
            long t0 = Stopwatch.GetTimestamp();
            foreach (var step in steps) model.Forward(step, cache);
            decode[r] = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            decodeCpu[r] = (CpuTime() - cpu0).TotalSeconds;
            cache.Clear();
            progress?.Invoke($"tg{o.GenTokens} x{o.Batch} rep {r + 1}/{o.Repetitions}: {o.GenTokens * o.Batch / decode[r]:F2} tokens/s");
        }
        return new BenchTimings(prefill, decode, decodeStart, prefillCpu, decodeCpu);
    }

    private static TimeSpan CpuTime()
    {
        using var p = Process.GetCurrentProcess();
        return p.TotalProcessorTime;
    }
}
