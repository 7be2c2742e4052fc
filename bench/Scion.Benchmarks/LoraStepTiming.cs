using System.Diagnostics;

namespace Scion.Benchmarks;

/// <summary>
/// A quick timing of <see cref="LoraBenchmarks"/>' cases for a busy machine: the cases run interleaved, round after
/// round, and the report gives each one's minimum and median, which noise from other processes inflates least.
/// `dotnet run -c Release --project bench/Scion.Benchmarks -- lora-timing [rounds]`
/// </summary>
public static class LoraStepTiming
{
    public static void Run(string[] args)
    {
        int rounds = args.Length > 1 ? int.Parse(args[1]) : 200;
        foreach (var type in new[] { Scion.Tensors.GgmlType.Q4_0, Scion.Tensors.GgmlType.Q8_0 })
        {
            var b = new LoraBenchmarks { Type = type };
            b.Setup();
            var cases = new (string Name, Action Run)[]
            {
                ("base only (q, v, o)", b.BaseOnly),
                ("base + 32 distinct adapters, grouped", b.Distinct32Grouped),
                ("base + 1 adapter on all 32 rows, grouped", b.Shared1Grouped),
                ("base + 32 distinct adapters, per-row dots (before)", b.Distinct32PerRowDots),
                ("32 distinct adapters alone, grouped", b.Distinct32AdaptersOnly),
                ("1 shared adapter alone, grouped", b.Shared1AdaptersOnly),
            };
            var times = cases.Select(_ => new List<double>()).ToArray();
            for (int warm = 0; warm < 20; warm++) foreach (var c in cases) c.Run();
            var sw = new Stopwatch();
            for (int r = 0; r < rounds; r++)
                for (int i = 0; i < cases.Length; i++)
                {
                    sw.Restart();
                    cases[i].Run();
                    times[i].Add(sw.Elapsed.TotalMilliseconds);
                }
            Console.WriteLine($"{type}, {rounds} rounds, threads {Scion.Tensors.WorkerPool.Shared.ThreadCount}, kernels {Scion.Tensors.KernelSelection.Description}");
            double baseMin = times[0].Min(), baseMedian = Median(times[0]);
            for (int i = 0; i < cases.Length; i++)
                Console.WriteLine($"  {cases[i].Name,-52} min {times[i].Min(),7:F3} ms  median {Median(times[i]),7:F3} ms  ({times[i].Min() / baseMin:F2}x / {Median(times[i]) / baseMedian:F2}x base)");
            b.Cleanup();
        }
    }

    private static double Median(List<double> v)
    {
        var s = v.OrderBy(x => x).ToArray();
        return s[s.Length / 2];
    }
}
