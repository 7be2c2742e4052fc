using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Scion.Cli.CommandLine;
using Scion.Models.Adapters;
using Scion.Models.Bench;
using Scion.Models.KvCache;
using Scion.Models.Llama;
using Scion.Models.Loading;
using Scion.Tensors;

namespace Scion.Cli.Commands;

/// <summary>
/// `scion bench --model PATH [--threads N] [--prompt-tokens 512] [--gen-tokens 128] [--repetitions 3] [--batch B]
/// [--depth D] [--adapter DIR] [--seed S] [--roofline-mib 1024] [--json]`: llama-bench's pp/tg tests plus the
/// machine's bandwidth and FMA roofline measured with the same threads, and how close the model gets to them.
/// Field meanings: docs/performance.md.
/// </summary>
internal static class BenchCommand
{
    public static Command Build()
    {
        var model = Opt.Text("--model", "model to measure (default: the bundled models/stories260K.gguf)", "PATH", "-m");
        var threads = Opt.Int("--threads", Environment.ProcessorCount, "worker threads (default: one per logical core)", 1, 1024, "-t");
        var promptTokens = Opt.Int("--prompt-tokens", 512, "prefill test length (pp); 0 skips it", 0, 1 << 20, "-p");
        var genTokens = Opt.Int("--gen-tokens", 128, "decode test length (tg); 0 skips it", 0, 1 << 20, "-n");
        var repetitions = Opt.Int("--repetitions", 3, "timed repetitions of each test", 1, 1000, "-r");
        var batch = Opt.Int("--batch", 1, "sequences decoded together in the tg test", 1, 4096, "-b");
        var depth = Opt.Int("--depth", 0, "tokens already in the KV cache when the tg test starts", 0, 1 << 20, "-d");
        var adapter = Opt.Text("--adapter", "apply this PEFT adapter (unmerged) while measuring", "DIR");
        var seed = Opt.ULong("--seed", 1234, "seed of the random prompt tokens", "-s");
        var rooflineMib = Opt.Int("--roofline-mib", 1024, "buffer size of the bandwidth measurement", 8, 1 << 20);
        var kv = new KvCacheOptions();
        var json = Opt.Flag("--json", "print one JSON object (field meanings: docs/performance.md) instead of the table");
        var command = new Command("bench", "measure prefill/decode tokens/s against the machine's bandwidth and FMA roofline");
        command.With(model, threads, promptTokens, genTokens, repetitions, batch, depth, adapter, seed, rooflineMib, json);
        kv.AddTo(command);
        return command.WithHandler((p, io, cancel) =>
        {
            string path = PathChecks.ExistingModel(BundledModel.Resolve(p.GetValue(model), io));
            if (p.GetValue(adapter) is { } dir) PathChecks.ExistingFolder(dir, "--adapter", "adapter");
            var options = new BenchOptions
            {
                PromptTokens = p.GetValue(promptTokens),
                GenTokens = p.GetValue(genTokens),
                Repetitions = p.GetValue(repetitions),
                Batch = p.GetValue(batch),
                Depth = p.GetValue(depth),
                Seed = p.GetValue(seed),
            };
            return Run(path, p.GetValue(threads), options, p.GetValue(adapter), p.GetValue(rooflineMib), p.GetValue(json), io, cancel, m => kv.Apply(p, m));
        });
    }

    private static int Run(string path, int threads, BenchOptions options, string? adapterDir, int rooflineMib, bool asJson, CliIo io, CancellationToken cancel,
        Action<LlamaModel> configure)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var loaded = CliProgress.Status(io, $"loading {path}", () => ModelLoader.Load(path));
        double loadMs = clock.Elapsed.TotalMilliseconds;
        long rssAfterLoad = MachineInfo.ResidentBytes();
        io.Err.WriteLine($"loaded {loaded.Format} model {path} in {loadMs:F0} ms (RSS {rssAfterLoad / 1048576.0:F0} MiB)");
        var model = loaded.Model;
        configure(model);
        using var pool = new WorkerPool(threads, WorkerPool.DefaultPinning);
        model.Pool = pool;
        LoraAdapter? adapter = null;
        if (adapterDir is { } dir)
        {
            adapter = AdapterLoader.Load(dir, model);
            io.Err.WriteLine($"loaded adapter {dir}");
        }
        options = options with { Adapter = adapter };

        var cost = new ModelCost(model);
        var timings = CliProgress.Status(io, "running the pp/tg tests", () => ModelBench.Run(model, options, line =>
        {
            // Ctrl-C is honoured between the bench's phases (each logs a line).
            cancel.ThrowIfCancellationRequested();
            io.Err.WriteLine(line);
        }));
        cancel.ThrowIfCancellationRequested();
        long rssAfterBench = MachineInfo.ResidentBytes();
        long hugeAfterBench = MachineInfo.HugePageBytes();

        io.Err.WriteLine($"measuring memory bandwidth ({rooflineMib} MiB) and FMA peak on {threads} threads ...");
        var bandwidth = Measurement.Of(CliProgress.Status(io, "measuring memory bandwidth", () => Roofline.MeasureBandwidth(pool, (long)rooflineMib << 20)));
        cancel.ThrowIfCancellationRequested();
        var fma = Measurement.Of(CliProgress.Status(io, "measuring the FMA peak", () => Roofline.MeasureFmaPeak(pool)));

        int p = options.PromptTokens, g = options.GenTokens, b = options.Batch;
        var prefillTps = Measurement.Of(timings.PrefillSeconds.Select(s => p / s).ToArray());
        var decodeTps = Measurement.Of(timings.DecodeSeconds.Select(s => (double)g * b / s).ToArray());
        double prefillFlops = p > 0 ? cost.PrefillFlops(p) : 0;
        double decodeBytes = g > 0 ? cost.DecodeBytes(g, b, timings.DecodeStart) : 0;
        // Ratios against the best ceiling measured: the fraction of what this machine demonstrably can do.
        var prefillRatio = Measurement.Of(timings.PrefillSeconds.Select(s => prefillFlops / s / 1e9 / fma.Best).ToArray());
        var decodeRatio = Measurement.Of(timings.DecodeSeconds.Select(s => decodeBytes / s / 1e9 / bandwidth.Best).ToArray());

        // CPU seconds ÷ (wall seconds × threads): 1 when every thread computed (or spun) all the time.
        double Utilization(double[] cpu, double[] wall) => wall.Length == 0 ? double.NaN : cpu.Sum() / (wall.Sum() * threads);
        double prefillUtil = Utilization(timings.PrefillCpuSeconds, timings.PrefillSeconds);
        double decodeUtil = Utilization(timings.DecodeCpuSeconds, timings.DecodeSeconds);
        double load1 = LoadAverage();
        var (mainType, parameters) = Composition(model);
        long fileSize = Scion.Models.Formats.PathKind.SizeOnDisk(path);
        string? fileType = model.GgufMetadata?.GetInteger("general.file_type") is long ft ? FileTypeName(ft) : null;
        long kvBytes = cost.KvBytesPerPosition * (long)Math.Max(p, b * (timings.DecodeStart + g));
        string date = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

        if (asJson)
        {
            io.Out.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object?>
            {
                ["model"] = path,
                ["format"] = loaded.Format,
                ["architecture"] = model.Config.Architecture,
                ["type"] = mainType.ToString(),
                ["file_type"] = fileType,
                ["parameters"] = parameters,
                ["file_size_bytes"] = fileSize,
                ["threads"] = threads,
                ["pinned_workers"] = pool.PinnedWorkers,
                ["prompt_tokens"] = p,
                ["gen_tokens"] = g,
                ["batch"] = b,
                ["depth"] = options.Depth,
                ["decode_start_position"] = timings.DecodeStart,
                ["repetitions"] = options.Repetitions,
                ["adapter"] = adapterDir,
                ["prefill_tokens_per_s"] = Num(prefillTps.Mean),
                ["prefill_tokens_per_s_sd"] = Num(prefillTps.Sd),
                ["decode_tokens_per_s"] = Num(decodeTps.Mean),
                ["decode_tokens_per_s_sd"] = Num(decodeTps.Sd),
                ["bandwidth_gb_s"] = Num(bandwidth.Best),
                ["bandwidth_gb_s_sd"] = Num(bandwidth.Sd),
                ["bandwidth_gb_s_mean"] = Num(bandwidth.Mean),
                ["fma_peak_gflop_s"] = Num(fma.Best),
                ["fma_peak_gflop_s_sd"] = Num(fma.Sd),
                ["fma_peak_gflop_s_mean"] = Num(fma.Mean),
                ["decode_roofline_ratio"] = Num(decodeRatio.Mean),
                ["decode_roofline_ratio_sd"] = Num(decodeRatio.Sd),
                ["prefill_roofline_ratio"] = Num(prefillRatio.Mean),
                ["prefill_roofline_ratio_sd"] = Num(prefillRatio.Sd),
                ["decode_bytes_per_token"] = g > 0 ? Num(decodeBytes / ((double)g * b)) : null,
                ["prefill_flops_per_token"] = p > 0 ? Num(prefillFlops / p) : null,
                ["weight_bytes_per_step"] = cost.WeightBytesPerStep,
                ["kv_cache_bytes"] = kvBytes,
                ["cache_type_k"] = KvCacheFormat.Name(model.KvFormat.Keys),
                ["cache_type_v"] = KvCacheFormat.Name(model.KvFormat.Values),
                ["load_ms"] = Num(loadMs),
                ["rss_after_load_bytes"] = rssAfterLoad,
                ["rss_after_bench_bytes"] = rssAfterBench,
                ["huge_page_bytes_after_bench"] = hugeAfterBench < 0 ? null : hugeAfterBench,
                ["prefill_cpu_utilization"] = Num(prefillUtil),
                ["decode_cpu_utilization"] = Num(decodeUtil),
                ["load_average_1m"] = Num(load1),
                ["prefill_seconds"] = timings.PrefillSeconds,
                ["decode_seconds"] = timings.DecodeSeconds,
                ["cpu"] = MachineInfo.CpuModel(),
                ["cores"] = Environment.ProcessorCount,
                ["simd"] = System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ? "avx512" : System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated ? "avx2" : "scalar",
                ["runtime"] = System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
                ["date"] = date,
            }, JsonOutput.Options));
            return 0;
        }

        var o = io.Out;
        o.WriteLine($"model     {path} ({loaded.Format}, {mainType}{(fileType is null ? "" : $" / {fileType}")}, {parameters / 1e6:F1} M params, {fileSize / 1048576.0:F0} MiB)");
        o.WriteLine($"machine   {MachineInfo.CpuModel()}, {Environment.ProcessorCount} cores, {threads} threads ({pool.PinnedWorkers} workers pinned), {date}");
        o.WriteLine($"load      {loadMs:F0} ms, RSS after load {rssAfterLoad / 1048576.0:F0} MiB, after bench {rssAfterBench / 1048576.0:F0} MiB (KV cache {kvBytes / 1048576.0:F0} MiB {model.KvFormat}, {(hugeAfterBench < 0 ? "?" : (hugeAfterBench / 1048576.0).ToString("F0"))} MiB on huge pages)");
        if (double.IsFinite(load1)) o.WriteLine($"load avg  {load1:F2} (1 min) when the tests ended");
        o.WriteLine();
        o.WriteLine($"| {"test",-18} | {"tokens/s",18} | {"roofline ratio",16} | {"CPU use",7} |");
        o.WriteLine($"| {new string('-', 18)} | {new string('-', 18)} | {new string('-', 16)} | {new string('-', 7)} |");
        if (p > 0) o.WriteLine($"| {$"pp{p}",-18} | {Pm(prefillTps),18} | {Pm(prefillRatio, "F3"),16} | {prefillUtil,7:F2} |");
        if (g > 0) o.WriteLine($"| {$"tg{g}" + (b > 1 ? $" x{b}" : "") + (options.Depth > 0 ? $" @d{options.Depth}" : ""),-18} | {Pm(decodeTps),18} | {Pm(decodeRatio, "F3"),16} | {decodeUtil,7:F2} |");
        o.WriteLine();
        o.WriteLine($"bandwidth {bandwidth.Best:F1} GB/s best ({Pm(bandwidth)} mean), FMA peak {fma.Best:F1} GFLOP/s best ({Pm(fma)} mean)");
        return 0;
    }

    /// <summary>The 1-minute load average (Linux), NaN elsewhere: a load above the core count means the results were contended.</summary>
    private static double LoadAverage()
    {
        try
        {
            var first = File.ReadAllText("/proc/loadavg").Split(' ')[0];
            return double.Parse(first, CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return double.NaN;
        }
    }

    private static double? Num(double v) => double.IsFinite(v) ? Math.Round(v, 6) : null;

    private static string Pm(Measurement m, string format = "F2") =>
        m.Count == 0 ? "-" : $"{m.Mean.ToString(format, CultureInfo.InvariantCulture)} ± {m.Sd.ToString(format, CultureInfo.InvariantCulture)}";

    /// <summary>The matrix type holding most of the weight bytes, and the parameter count of all matrices.</summary>
    private static (GgmlType Type, long Parameters) Composition(LlamaModel model)
    {
        var w = model.Weights;
        var matrices = new List<WeightMatrix> { w.TokenEmbedding };
        if (!model.Config.TiedEmbeddings) matrices.Add(w.Output);
        foreach (var layer in w.Layers) matrices.AddRange(Enum.GetValues<LinearSlot>().Select(layer.Linear));
        var main = matrices.GroupBy(m => m.Type).MaxBy(gr => gr.Sum(m => m.ByteCount))!.Key;
        return (main, matrices.Sum(m => (long)m.Rows * m.Cols));
    }

    /// <summary>llama.cpp's llama_ftype names for the ids this project writes or commonly meets.</summary>
    private static string FileTypeName(long id) => id switch
    {
        0 => "F32", 1 => "F16", 2 => "Q4_0", 3 => "Q4_1", 7 => "Q8_0", 8 => "Q5_0", 9 => "Q5_1", 10 => "Q2_K",
        11 => "Q3_K_S", 12 => "Q3_K_M", 13 => "Q3_K_L", 14 => "Q4_K_S", 15 => "Q4_K_M", 16 => "Q5_K_S", 17 => "Q5_K_M",
        18 => "Q6_K", 32 => "BF16", _ => $"ftype {id}",
    };
}
