using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Scion.Benchmarks;

/// <summary>
/// A column that turns each benchmark's mean time into a rate, so results read against the machine's ceilings
/// (`scion bench` prints both): bytes of weights streamed per second for GEMV, FLOPs per second for GEMM.
/// The benchmark class says how much work one invocation does.
/// </summary>
public sealed class ThroughputColumn(Func<BenchmarkCase, (double Amount, string Unit)> work) : IColumn
{
    public string Id => nameof(ThroughputColumn);
    public string ColumnName => "Throughput";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => false;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "work per invocation ÷ mean time: GB/s of weights read (GEMV) or GFLOP/s (GEMM, 2 per multiply-add)";

    public bool IsAvailable(Summary summary) => true;
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var stats = summary[benchmarkCase]?.ResultStatistics;
        if (stats is null || stats.Mean <= 0) return "-";
        var (amount, unit) = work(benchmarkCase);
        return $"{amount / stats.Mean:F1} {unit}"; // amount per ns = G-amount per s
    }
}
