using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Scion.Cli.CommandLine;
using Scion.Models.Adapters;
using Scion.Models.Bench;
using Scion.Models.Loading;
using Scion.Serving.Adapters;
using Scion.Serving.Benchmarking;
using Scion.Serving.Engine;
using Scion.Tensors;
using Spectre.Console;

namespace Scion.Cli.Commands;

/// <summary>
/// `scion bench-serve`: a seeded serving load (closed loop or Poisson; prompt and output length distributions; K
/// adapters, uniform or Zipf; a shared prefix; a long-prompt probe) run against the engine in process, or with --url
/// against any OpenAI-compatible server over streaming HTTP, so llama.cpp's server and scion serve get the same
/// requests token for token. Prints a summary (or --json) of throughput, TTFT / inter-token / end-to-end latency
/// percentiles and, in process, the engine's own counters (KV use, prefix hits, preemptions, adapter loads).
/// </summary>
internal static class BenchServeCommand
{
    public static Command Build()
    {
        var model = Opt.Text("--model", "model to serve in process (default: the bundled models/stories260K.gguf)", "PATH", "-m");
        var url = Opt.Text("--url", "drive this OpenAI-compatible server (streaming /v1/completions) instead of an in-process engine", "URL");
        var modelName = Opt.Text("--model-name", "with --url: the model field of each request (default: the first id of GET /v1/models)", "NAME");
        var threads = Opt.Int("--threads", Environment.ProcessorCount, "worker threads of the in-process engine (default: one per logical core)", 1, 1024, "-t");
        var concurrency = Opt.Int("--concurrency", 8, "closed loop: clients each sending their next request when the last ended", 1, 100000);
        var rate = Opt.OptionalFloat("--rate", "open loop instead: Poisson arrivals, requests per second", 1e-6f, 1e6f);
        var requests = Opt.Int("--requests", 64, "requests to send (the run also ends at --duration)", 1, 10_000_000);
        var duration = Opt.OptionalFloat("--duration", "stop sending after this many seconds (requests in flight finish)", 0.001f, 1e7f);
        var promptTokens = Opt.Text("--prompt-tokens", "prompt length: N, MIN..MAX (uniform) or normal:MEAN,SD[,MIN..MAX] (default 80)", "DIST");
        var outputTokens = Opt.Text("--output-tokens", "output length (max_tokens): N, MIN..MAX or normal:MEAN,SD[,MIN..MAX] (default 64)", "DIST");
        var sharedPrefix = Opt.Int("--shared-prefix", 0, "tokens every prompt starts with (the prefix cache's case)", 0, 1 << 20);
        var ignoreEos = Opt.Flag("--ignore-eos", "generate exactly the output length (no stop at end-of-generation tokens)");
        var adapters = Opt.Int("--adapters", 0, "spread requests over this many adapters: random ones written to a temporary folder, or the first N of --adapters-dir", 0, 1_000_000);
        var adaptersDir = Opt.Text("--adapters-dir", "take the adapters from this folder's subfolders (PEFT layout; sorted by name)", "DIR");
        var adapterRank = Opt.Int("--adapter-rank", 8, "rank of generated random adapters", 1, 4096);
        var adapterTargets = Opt.Text("--adapter-targets", "projections of generated random adapters, comma-separated (default q_proj,v_proj,o_proj)", "LIST");
        var zipf = Opt.Float("--zipf", 0, "adapter popularity: 0 uniform, s > 0 Zipf(s) (adapter i has weight 1/(i+1)^s)", 0, 100);
        var longPrompt = Opt.Int("--long-prompt", 0, "also send one request with a prompt this long (1 output token) to see how it disturbs the streams", 0, 1 << 20);
        var longPromptAt = Opt.Float("--long-prompt-at", 5, "seconds after the start to send the long prompt", 0, 1e6f);
        var warmup = Opt.Int("--warmup", 2, "requests (8-token prompts, 4 tokens out) run and discarded first: JIT and caches warm", 0, 1000);
        var kvTokens = Opt.Int("--kv-tokens", 0, "in process: KV cache tokens shared by all sequences (0: as many as --kv-mib holds)", 0, 1 << 26);
        var kvMib = Opt.Int("--kv-mib", 0, "in process: KV cache memory in MiB when --kv-tokens is 0 (0: what sixteen contexts, at most 65,536 tokens, take as f16)", 0, 1 << 24);
        var kv = new KvCacheOptions();
        var maxBatchTokens = Opt.Int("--max-batch-tokens", 512, "in process: tokens per forward step (the chunked-prefill budget)", 1, 1 << 20);
        var maxStepMs = Opt.Int("--max-step-ms", 500, "in process: while streams decode, shrink prompt chunks so a step takes about this long; 0: off", 0, 600_000);
        var maxAdaptersPerStep = Opt.Int("--max-adapters-per-step", 32, "in process: distinct adapters in one forward step", 1, 1 << 16);
        var maxSeqs = Opt.Int("--max-seqs", 64, "in process: sequences per forward step", 1, 1 << 16);
        var adapterCacheMib = Opt.Int("--adapter-cache-mib", 2048, "in process: host memory for resident adapters, MiB (LRU beyond it)", 0, 1 << 24);
        var train = Opt.Text("--train", "in process: co-serve a LoRA training job on this JSONL data during the load and report its speed, alone first and then under the load", "FILE");
        var trainingShare = Opt.Float("--training-share", 0.25f, "in process, with --train: fraction of engine time training may take while requests run", 0, 0.95f);
        var trainAlone = Opt.Float("--train-alone-seconds", 10, "with --train: seconds the job trains alone before the load, for the standalone speed", 0, 1e6f);
        var trainBatchTokens = Opt.Int("--train-batch-tokens", 256, "with --train: tokens per training micro-batch", 2, 1 << 20);
        var seed = Opt.ULong("--seed", 1, "seed of the plan: prompts, lengths, adapters, arrivals", "-s");
        var json = Opt.Flag("--json", "print one JSON object instead of the summary");
        var output = Opt.Text("--output", "also write the JSON result to this file", "FILE", "-o");
        var command = new Command("bench-serve", "measure serving throughput and latency under a seeded load, in process or against an OpenAI-compatible server");
        command.With(model, url, modelName, threads, concurrency, rate, requests, duration, promptTokens, outputTokens, sharedPrefix, ignoreEos,
            adapters, adaptersDir, adapterRank, adapterTargets, zipf, longPrompt, longPromptAt, warmup, kvTokens, kvMib, maxBatchTokens, maxStepMs, maxAdaptersPerStep, maxSeqs,
            adapterCacheMib, train, trainingShare, trainAlone, trainBatchTokens, seed, json, output);
        kv.AddTo(command);
        return command.WithHandler((p, io, cancel) =>
        {
            LoadSpec spec;
            string[] targets;
            Uri? baseUrl = null;
            try
            {
                spec = new LoadSpec
                {
                    Concurrency = p.GetValue(concurrency),
                    RequestRate = p.GetValue(rate),
                    Requests = p.GetValue(requests),
                    DurationSeconds = p.GetValue(duration),
                    PromptTokens = LengthDistribution.Parse(p.GetValue(promptTokens) ?? "80", "--prompt-tokens"),
                    OutputTokens = LengthDistribution.Parse(p.GetValue(outputTokens) ?? "64", "--output-tokens"),
                    SharedPrefixTokens = p.GetValue(sharedPrefix),
                    Adapters = p.GetValue(adapters),
                    ZipfExponent = p.GetValue(zipf),
                    IgnoreEos = p.GetValue(ignoreEos),
                    LongPromptTokens = p.GetValue(longPrompt),
                    LongPromptAtSeconds = p.GetValue(longPromptAt),
                    Seed = p.GetValue(seed),
                };
                targets = (p.GetValue(adapterTargets) ?? "q_proj,v_proj,o_proj").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                foreach (var t in targets)
                    if (!LoraModules.IsKnown(t)) throw new ArgumentException($"--adapter-targets: unknown projection '{t}'; expected some of {string.Join(", ", LoraModules.All)}.");
                if (p.GetValue(url) is { } u)
                {
                    if (!Uri.TryCreate(u.EndsWith('/') ? u : u + "/", UriKind.Absolute, out baseUrl) || baseUrl.Scheme is not ("http" or "https"))
                        throw new ArgumentException($"--url: expected an http(s) URL such as http://127.0.0.1:8080, got '{u}'.");
                    if (p.GetValue(train) is not null) throw new ArgumentException("--train co-serves a job in the in-process engine; it cannot be used with --url.");
                    if (p.GetValue(adapters) > 0 && p.GetValue(adaptersDir) is null)
                        throw new ArgumentException("--adapters with --url needs --adapters-dir: the names sent are its subfolders, which the server must have registered.");
                }
            }
            catch (ArgumentException e)
            {
                throw new UsageException($"bench-serve: {e.Message}");
            }
            if (p.GetValue(adaptersDir) is { } dir) PathChecks.ExistingFolder(dir, "--adapters-dir", "adapters");
            string? trainData = p.GetValue(train) is { } tf ? PathChecks.ExistingFile(tf, "--train", "training data") : null;
            var settings = new Settings(p.GetValue(model), baseUrl, p.GetValue(modelName), p.GetValue(threads), p.GetValue(adaptersDir), p.GetValue(adapterRank),
                targets, p.GetValue(warmup), new EngineOptions
                {
                    KvCacheTokens = p.GetValue(kvTokens),
                    KvCacheBytes = (long)p.GetValue(kvMib) << 20,
                    MaxBatchTokens = p.GetValue(maxBatchTokens),
                    MaxStepMilliseconds = p.GetValue(maxStepMs),
                    MaxAdaptersPerStep = p.GetValue(maxAdaptersPerStep),
                    MaxSequences = p.GetValue(maxSeqs),
                    TrainingShare = p.GetValue(trainingShare),
                }, (long)p.GetValue(adapterCacheMib) << 20, p.GetValue(json), p.GetValue(output),
                trainData, p.GetValue(trainAlone), p.GetValue(trainBatchTokens), kv.Format(p));
            return Run(spec, settings, io, cancel);
        });
    }

    private sealed record Settings(string? Model, Uri? Url, string? ModelName, int Threads, string? AdaptersDir, int AdapterRank, string[] Targets,
        int Warmup, EngineOptions Engine, long AdapterCacheBytes, bool Json, string? OutputFile, string? Train, double TrainAloneSeconds, int TrainBatchTokens,
        Scion.Models.KvCache.KvCacheFormat KvFormat);

    private static int Run(LoadSpec spec, Settings s, CliIo io, CancellationToken cancel)
    {
        string? tempAdapters = null;
        try
        {
            return s.Url is { } url ? RunHttp(spec, s, url, io, cancel) : RunInProcess(spec, s, io, cancel, out tempAdapters);
        }
        finally
        {
            if (tempAdapters is not null)
            {
                try { Directory.Delete(tempAdapters, recursive: true); }
                catch (IOException) { }
                catch (UnauthorizedAccessException) { }
            }
        }
    }

    private static int RunHttp(LoadSpec spec, Settings s, Uri url, CliIo io, CancellationToken cancel)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromHours(1) };
        string name;
        try
        {
            name = s.ModelName ?? HttpTarget.FirstModelAsync(http, url, cancel).GetAwaiter().GetResult();
        }
        catch (HttpRequestException e)
        {
            throw new InvalidOperationException($"bench-serve: cannot reach {url}v1/models: {e.Message}", e);
        }
        var names = spec.Adapters > 0 ? AdapterNames(s.AdaptersDir!, spec.Adapters) : null;
        // Token ids are sent as the prompt; the plan draws them below the server's vocabulary, unknown here, so keep
        // them in the range every Llama vocabulary has.
        spec = spec with { Vocab = 256 };
        var target = new HttpTarget(http, url, name, spec.IgnoreEos, names);
        io.Err.WriteLine($"bench-serve: {Describe(spec)} against {url} (model '{name}')");
        return Measure(spec, target, s, new Dictionary<string, object?> { ["url"] = url.ToString(), ["model_name"] = name }, io, cancel);
    }

    private static int RunInProcess(LoadSpec spec, Settings s, CliIo io, CancellationToken cancel, out string? tempAdapters)
    {
        tempAdapters = null;
        string path = PathChecks.ExistingModel(BundledModel.Resolve(s.Model, io));
        using var loaded = CliProgress.Status(io, $"loading {path}", () => ModelLoader.Load(path));
        var m = loaded.Model;
        try
        {
            m.KvFormat = s.KvFormat;
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"bench-serve: {e.Message}");
        }
        using var pool = new WorkerPool(s.Threads, WorkerPool.DefaultPinning);
        m.Pool = pool;
        spec = spec with { Vocab = m.Config.Vocab };
        AdapterStore? store = null;
        IReadOnlyList<string>? names = null;
        if (spec.Adapters > 0)
        {
            store = new AdapterStore(m, new AdapterStoreOptions { ByteBudget = s.AdapterCacheBytes });
            string root;
            if (s.AdaptersDir is { } dir)
            {
                root = dir;
                names = AdapterNames(dir, spec.Adapters);
            }
            else
            {
                root = tempAdapters = Path.Combine(Path.GetTempPath(), $"scion-bench-adapters-{Guid.NewGuid():N}");
                names = CliProgress.Status(io, $"writing {spec.Adapters} random rank-{s.AdapterRank} adapters",
                    () => RandomAdapters.Write(root, m.Config, spec.Adapters, s.AdapterRank, s.Targets, spec.Seed));
                io.Err.WriteLine($"wrote {spec.Adapters} random rank-{s.AdapterRank} adapters ({string.Join(",", s.Targets)}) to {root}");
            }
            store.AddRoot(root);
            foreach (var n in names) store.Register(n, Path.Combine(root, n));
        }
        using var engine = new ServingEngine(m, loaded.Tokenizer, s.Engine, store);
        var target = new EngineTarget(engine, spec.IgnoreEos, names, store);
        using var training = s.Train is { } data ? StartTraining(loaded, engine, data, s, io) : null;
        io.Err.WriteLine($"bench-serve: {Describe(spec)} in process on {path}, {s.Threads} threads, KV {engine.KvCacheTokens} tokens ({s.KvFormat})");
        return Measure(spec, target, s, new Dictionary<string, object?>
        {
            ["training_share"] = training is null ? null : s.Engine.TrainingShare,
            ["model"] = path,
            ["threads"] = s.Threads,
            ["kv_tokens"] = engine.KvCacheTokens,
            ["cache_type_k"] = Scion.Models.KvCache.KvCacheFormat.Name(s.KvFormat.Keys),
            ["cache_type_v"] = Scion.Models.KvCache.KvCacheFormat.Name(s.KvFormat.Values),
            ["max_batch_tokens"] = s.Engine.MaxBatchTokens,
            ["max_step_ms"] = s.Engine.MaxStepMilliseconds,
            ["max_adapters_per_step"] = s.Engine.MaxAdaptersPerStep,
            ["max_seqs"] = s.Engine.MaxSequences,
            ["adapter_cache_mib"] = s.AdapterCacheBytes >> 20,
        }, io, cancel, training);
    }

    /// <summary>--train: the job starts and trains alone for --train-alone-seconds (its standalone speed), then the load runs beside it.</summary>
    private static CoServedTraining StartTraining(LoadedModel loaded, ServingEngine engine, string data, Settings s, CliIo io)
    {
        int seqLen = Math.Min(loaded.Model.Config.ContextLength, 2048);
        var dataset = Scion.Training.Data.JsonlDataset.Load(data, loaded.RequireTokenizer(), loaded.ChatTemplate, seqLen);
        var training = new CoServedTraining(engine, loaded.Model, dataset.Examples,
            new Scion.Training.Peft.PeftOptions(), new Scion.Training.Trainer.TrainerOptions { Steps = 10_000_000, LearningRate = 1e-3f, BatchTokens = s.TrainBatchTokens });
        training.WhenStarted.GetAwaiter().GetResult();
        // A benchmark, not a test: it measures over wall time. The first fifth of the window warms the JIT up
        // (counted from then, one stories260K sitting read 121% "of alone" under load).
        Thread.Sleep(TimeSpan.FromSeconds(s.TrainAloneSeconds / 5));
        long before = training.Tokens;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Thread.Sleep(TimeSpan.FromSeconds(s.TrainAloneSeconds * 4 / 5));
        double alone = (training.Tokens - before) / clock.Elapsed.TotalSeconds;
        training.AloneTokensPerSecond = alone;
        io.Err.WriteLine(string.Create(CultureInfo.InvariantCulture, $"bench-serve: training alone: {alone:F1} tokens/s over {clock.Elapsed.TotalSeconds:F1} s ({dataset.Examples.Count} examples, micro-batches of {s.TrainBatchTokens} tokens)"));
        return training;
    }

    private static IReadOnlyList<string> AdapterNames(string dir, int count)
    {
        var names = Directory.EnumerateDirectories(dir).Select(Path.GetFileName).OfType<string>()
            .Where(n => File.Exists(Path.Combine(dir, n, "adapter_config.json"))).Order(StringComparer.Ordinal).Take(count).ToList();
        if (names.Count < count)
            throw new UsageException($"bench-serve: --adapters {count} needs that many adapter folders in '{dir}', found {names.Count}.");
        return names;
    }

    private static string Describe(LoadSpec s) =>
        (s.RequestRate is { } r ? $"Poisson {r}/s" : $"{s.Concurrency} streams") +
        $", {s.Requests} requests{(s.DurationSeconds is { } d ? $" or {d} s" : "")}, prompts {s.PromptTokens}, outputs {s.OutputTokens}" +
        (s.SharedPrefixTokens > 0 ? $", shared prefix {s.SharedPrefixTokens}" : "") +
        (s.Adapters > 0 ? $", {s.Adapters} adapters {(s.ZipfExponent > 0 ? $"Zipf({s.ZipfExponent})" : "uniform")}" : "") +
        (s.LongPromptTokens > 0 ? $", a {s.LongPromptTokens}-token prompt at {Math.Round(s.LongPromptAtSeconds, 3)} s" : "") +
        (s.IgnoreEos ? ", ignore_eos" : "");

    private static int Measure(LoadSpec spec, ILoadTarget target, Settings s, Dictionary<string, object?> setup, CliIo io, CancellationToken cancel,
        CoServedTraining? training = null)
    {
        if (s.Warmup > 0)
        {
            var warm = LoadPlan.Create(spec with
            {
                Requests = s.Warmup, Concurrency = Math.Min(2, s.Warmup), RequestRate = null, DurationSeconds = null, SharedPrefixTokens = 0,
                PromptTokens = LengthDistribution.Fixed(8), OutputTokens = LengthDistribution.Fixed(4), LongPromptTokens = 0, Adapters = 0,
                Seed = spec.Seed ^ 0x5EED_0F_5A17UL,
            });
            var w = CliProgress.Status(io, "warming up", () => LoadRunner.RunAsync(warm, target, cancellationToken: cancel).GetAwaiter().GetResult());
            if (w.RequestsFailed > 0) throw new InvalidOperationException($"bench-serve: the warm-up request failed: {w.FirstError}");
        }
        var plan = LoadPlan.Create(spec);
        long trainedBefore = training?.Tokens ?? 0;
        var loadClock = System.Diagnostics.Stopwatch.StartNew();
        var report = WithProgress(io, plan, target, cancel);
        double loadSeconds = loadClock.Elapsed.TotalSeconds;
        cancel.ThrowIfCancellationRequested();
        var result = Result(spec, report, setup);
        if (training is not null)
        {
            double during = (training.Tokens - trainedBefore) / loadSeconds;
            result["training"] = new Dictionary<string, object?>
            {
                ["alone_tokens_per_s"] = Round(training.AloneTokensPerSecond),
                ["during_load_tokens_per_s"] = Round(during),
                ["fraction_of_alone"] = training.AloneTokensPerSecond > 0 ? Round(during / training.AloneTokensPerSecond) : null,
                ["error"] = training.Error,
            };
            io.Err.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"bench-serve: training during the load: {during:F1} tokens/s = {(training.AloneTokensPerSecond > 0 ? during / training.AloneTokensPerSecond : 0):P0} of alone"));
        }
        string text = JsonSerializer.Serialize(result, JsonOutput.Options);
        if (s.OutputFile is { } file)
            Scion.Models.Formats.AtomicFile.Write(file, f => f.Write(System.Text.Encoding.UTF8.GetBytes(text + "\n")));
        if (s.Json) io.Out.WriteLine(text);
        else Print(report, io.Out);
        if (report.RequestsFailed > 0) io.Warn($"{report.RequestsFailed} requests failed; the first: {report.FirstError}");
        return report.RequestsCompleted == 0 ? ExitCodes.Failure : ExitCodes.Success;
    }

    private static BenchReport WithProgress(CliIo io, LoadPlan plan, ILoadTarget target, CancellationToken cancel)
    {
        string Line(BenchProgress p) => string.Create(CultureInfo.InvariantCulture,
            $"[{p.Completed + p.Failed,4}/{p.Total}] {p.Seconds,6:F1} s  {p.OutputTokens} tokens out  {(p.Seconds > 0 ? p.OutputTokens / p.Seconds : 0),7:F1} tok/s  " +
            $"in flight {p.InFlight}{(p.Failed > 0 ? $"  failed {p.Failed}" : "")}{(p.KvFraction is { } kv ? $"  KV {kv:P0}" : "")}");
        if (!io.ErrIsTerminal)
        {
            double lastPrinted = double.NegativeInfinity;
            return LoadRunner.RunAsync(plan, target, p =>
            {
                // One plain line every couple of seconds: a log, not a flood.
                if (p.Seconds - lastPrinted < 2) return;
                lastPrinted = p.Seconds;
                io.Err.WriteLine(Line(p));
            }, cancellationToken: cancel).GetAwaiter().GetResult();
        }
        BenchReport report = null!;
        CliProgress.Console(io).Progress().AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("bench-serve", maxValue: plan.Requests.Count);
                report = LoadRunner.RunAsync(plan, target, p =>
                {
                    task.Value = p.Completed + p.Failed;
                    task.Description = Markup.Escape(Line(p));
                }, cancellationToken: cancel).GetAwaiter().GetResult();
                task.Value = task.MaxValue;
            });
        return report;
    }

    private static Dictionary<string, object?> Result(LoadSpec spec, BenchReport r, Dictionary<string, object?> setup)
    {
        static object Lat(LatencySummary l) => new Dictionary<string, object>
        {
            ["count"] = l.Count, ["mean"] = Round(l.Mean), ["p50"] = Round(l.P50), ["p90"] = Round(l.P90), ["p99"] = Round(l.P99), ["max"] = Round(l.Max),
        };
        var result = new Dictionary<string, object?>
        {
            ["date"] = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            ["cpu"] = MachineInfo.CpuModel(),
            ["target"] = r.Target,
        };
        foreach (var (k, v) in setup) result[k] = v;
        result["load"] = new Dictionary<string, object?>
        {
            ["concurrency"] = spec.RequestRate is null ? spec.Concurrency : null,
            ["rate"] = spec.RequestRate,
            ["requests"] = spec.Requests,
            ["duration_s"] = spec.DurationSeconds is { } ds ? Math.Round(ds, 3) : null,
            ["long_prompt_at_s"] = Math.Round(spec.LongPromptAtSeconds, 3),
            ["prompt_tokens"] = spec.PromptTokens.ToString(),
            ["output_tokens"] = spec.OutputTokens.ToString(),
            ["shared_prefix"] = spec.SharedPrefixTokens,
            ["adapters"] = spec.Adapters,
            ["zipf"] = Math.Round(spec.ZipfExponent, 3),
            ["ignore_eos"] = spec.IgnoreEos,
            ["long_prompt"] = spec.LongPromptTokens,
            ["seed"] = spec.Seed,
        };
        result["requests_completed"] = r.RequestsCompleted;
        result["requests_failed"] = r.RequestsFailed;
        result["first_error"] = r.FirstError;
        result["prompt_tokens"] = r.PromptTokens;
        result["output_tokens"] = r.OutputTokens;
        result["wall_s"] = Round(r.WallSeconds);
        result["output_tokens_per_s"] = Round(r.OutputTokensPerSecond);
        result["requests_per_s"] = Round(r.RequestsPerSecond);
        result["ttft_s"] = Lat(r.TimeToFirstToken);
        result["itl_s"] = Lat(r.InterTokenLatency);
        result["e2e_s"] = Lat(r.EndToEnd);
        result["first_request_ttft_s"] = r.FirstRequestTtft is { } f ? Round(f) : null;
        result["later_requests_ttft_p50_s"] = r.LaterRequestsTtftP50 is { } l2 ? Round(l2) : null;
        result["long_prompt_ttft_s"] = r.LongPromptTtft is { } lp ? Round(lp) : null;
        result["long_prompt_error"] = r.LongPromptError;
        result["worst_gap_during_long_prompt_s"] = r.WorstGapDuringLongPrompt is { } wg ? Round(wg) : null;
        if (r.Engine is { } e)
            result["engine"] = new Dictionary<string, object>
            {
                ["kv_blocks_total"] = e.KvBlocksTotal,
                ["kv_peak_fraction"] = Round(e.KvPeakFraction),
                ["kv_mean_fraction"] = Round(e.KvMeanFraction),
                ["prefix_query_tokens"] = e.PrefixQueryTokens,
                ["prefix_hit_tokens"] = e.PrefixHitTokens,
                ["prefix_hit_rate"] = Round(e.PrefixHitRate),
                ["preemptions"] = e.Preemptions,
                ["adapter_loads"] = e.AdapterLoads,
                ["adapter_evictions"] = e.AdapterEvictions,
                ["steps"] = e.Steps,
            };
        return result;
    }

    private static double Round(double v) => Math.Round(v, 4);

    private static void Print(BenchReport r, TextWriter o)
    {
        var ci = CultureInfo.InvariantCulture;
        string Ms(double s) => (s * 1000).ToString("F1", ci);
        string Row(string name, LatencySummary l) =>
            $"{name,-10} p50 {Ms(l.P50),9} ms  p90 {Ms(l.P90),9} ms  p99 {Ms(l.P99),9} ms  max {Ms(l.Max),9} ms";
        o.WriteLine(string.Create(ci, $"requests   {r.RequestsCompleted} completed, {r.RequestsFailed} failed in {r.WallSeconds:F2} s ({r.RequestsPerSecond:F3} requests/s)"));
        o.WriteLine(string.Create(ci, $"tokens     {r.OutputTokens} out ({r.OutputTokensPerSecond:F1} tokens/s), {r.PromptTokens} prompt"));
        o.WriteLine(Row("TTFT", r.TimeToFirstToken));
        o.WriteLine(Row("ITL", r.InterTokenLatency));
        o.WriteLine(Row("e2e", r.EndToEnd));
        if (r.FirstRequestTtft is { } f)
            o.WriteLine($"first TTFT {Ms(f)} ms (then p50 {(r.LaterRequestsTtftP50 is { } l ? Ms(l) : "-")} ms)");
        if (r.LongPromptTtft is { } lp)
            o.WriteLine($"long prompt TTFT {Ms(lp)} ms; worst gap of the others meanwhile {(r.WorstGapDuringLongPrompt is { } g ? Ms(g) : "-")} ms");
        if (r.Engine is { } e)
            o.WriteLine(string.Create(ci, $"engine     KV peak {e.KvPeakFraction:P1} mean {e.KvMeanFraction:P1} of {e.KvBlocksTotal} blocks, prefix hits {e.PrefixHitRate:P1} " +
                $"({e.PrefixHitTokens}/{e.PrefixQueryTokens} tokens), {e.Preemptions} preemptions, {e.AdapterLoads} adapter loads, {e.AdapterEvictions} evictions, {e.Steps} steps"));
    }
}
