using System.CommandLine;
using System.Net;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Scion.Cli.CommandLine;
using Scion.Models.Tokenization.Templates;
using Scion.Server;
using Scion.Serving.Adapters;
using Scion.Serving.Engine;

namespace Scion.Cli.Commands;

/// <summary>
/// `scion serve [--model PATH] [--host 127.0.0.1] [--port 8080] ...`: the OpenAI-compatible HTTP server. Options
/// are checked first (exit 2 or 1 before anything loads); then it listens at once (/health answers 503), loads the
/// model in the background, prints the URL when ready and serves until Ctrl-C or SIGTERM, which stop it cleanly
/// with exit code 0 (stopping is how a server ends, not an interruption of work).
/// </summary>
internal static class ServeCommand
{
    public static Command Build()
    {
        var model = new ModelOptions(adapter: false, tokenizer: false, kvCache: true);
        var host = new Option<string>("--host") { Description = "address to listen on (an IP address or localhost; 0.0.0.0 for every interface)", DefaultValueFactory = _ => "127.0.0.1", HelpName = "ADDRESS" };
        var port = Opt.Int("--port", 8080, "TCP port to listen on (0: any free port; the URL printed says which)", 0, 65535);
        var servedName = Opt.Text("--served-model-name", "the base model's id in /v1/models and requests' \"model\" (default: the model file's name)", "NAME");
        var adapter = new Option<string[]>("--adapter") { Description = "serve a PEFT adapter folder under a model name (repeatable)", HelpName = "NAME=DIR" };
        var adaptersDir = Opt.Text("--adapters-dir", "register every adapter subfolder under its folder name; runtime adapter loads are confined to this folder", "DIR");
        var cacheMib = Opt.Int("--adapter-cache-mib", 2048, "host memory for resident adapters in MiB (least recently used ones are evicted)", 0, 1 << 24);
        var kvTokens = Opt.OptionalInt("--kv-tokens", "KV cache size in tokens shared by all requests (default: as many as --kv-mib holds)", 1, 1 << 26);
        var kvMib = Opt.OptionalInt("--kv-mib", "KV cache memory in MiB when --kv-tokens is not given (default: what sixteen contexts, at most 65536 tokens, take as f16; a q8_0 cache holds about twice the tokens in it)", 1, 1 << 24);
        var maxBatchTokens = Opt.Int("--max-batch-tokens", 512, "tokens per forward step, prompt chunks and decodes together", 1, 1 << 20);
        var maxStepMs = Opt.Int("--max-step-ms", 500, "while streams decode, shrink prompt chunks so a step takes about this long (bounds the gap a long prompt causes); 0: off", 0, 600_000);
        var maxAdaptersPerStep = Opt.Int("--max-adapters-per-step", 32, "distinct adapters in one forward step (requests of others wait a step)", 1, 1 << 16);
        var maxSeqs = Opt.Int("--max-seqs", 64, "sequences per forward step", 1, 1 << 16);
        var maxTokensCap = Opt.Int("--max-tokens-cap", 0, "most tokens a request may ask for (0: the model's context); above it is a 400", 0, 1 << 24);
        var apiKey = new Option<string[]>("--api-key") { Description = "require 'Authorization: Bearer KEY' on every endpoint but /health (repeatable)", HelpName = "KEY" };
        var apiKeysFile = Opt.Text("--api-keys-file", "file of accepted keys, one per line (blank lines and lines starting with # are ignored)", "FILE");
        var chatTemplate = Opt.Text("--chat-template", "chat template file (Jinja2) to use instead of the model's own", "FILE");
        var dataDir = new Option<string>("--data-dir") { Description = "folder for uploaded files, fine-tuning jobs (SQLite) and their adapters; created on the first upload", DefaultValueFactory = _ => "scion-data", HelpName = "DIR" };
        var trainingShare = Opt.Float("--training-share", 0.25f, "fraction of engine time fine-tuning jobs may take while requests run (they take all of it while idle); 0: train only when idle", 0, 0.95f);
        var maxUploadMib = Opt.Int("--max-upload-mib", 512, "largest file upload (POST /v1/files) in MiB", 1, 1 << 20);

        var command = new Command("serve", "serve the model over an OpenAI-compatible HTTP API");
        model.AddTo(command);
        command.With(host, port, servedName, adapter, adaptersDir, cacheMib, kvTokens, kvMib, maxBatchTokens, maxStepMs, maxAdaptersPerStep, maxSeqs, maxTokensCap,
            apiKey, apiKeysFile, chatTemplate, dataDir, trainingShare, maxUploadMib);
        return command.WithHandler((p, io, cancel) =>
        {
            // Everything is checked before the server binds or the model loads.
            string address = p.GetValue(host)!;
            if (address != "localhost" && !IPAddress.TryParse(address, out _))
                throw new UsageException($"--host {address}: expected an IP address (127.0.0.1, 0.0.0.0, ::1) or localhost.");
            string? name = p.GetValue(servedName);
            if (name is not null && name.Trim().Length == 0) throw new UsageException("--served-model-name: expected a name, got an empty one.");
            var adapters = ParseAdapters(p.GetValue(adapter) ?? []);
            string? dir = p.GetValue(adaptersDir) is { } d ? PathChecks.ExistingFolder(d, "--adapters-dir", "adapter folders") : null;
            var keys = Keys(p.GetValue(apiKey) ?? [], p.GetValue(apiKeysFile));
            string? template = p.GetValue(chatTemplate) is { } f ? ReadTemplate(f) : null;
            var engine = new EngineOptions
            {
                KvCacheTokens = p.GetValue(kvTokens) ?? 0,
                KvCacheBytes = (long)(p.GetValue(kvMib) ?? 0) << 20,
                MaxBatchTokens = p.GetValue(maxBatchTokens),
                MaxStepMilliseconds = p.GetValue(maxStepMs),
                MaxAdaptersPerStep = p.GetValue(maxAdaptersPerStep),
                MaxSequences = p.GetValue(maxSeqs),
                TrainingShare = p.GetValue(trainingShare),
            };
            try
            {
                engine.Validate();
            }
            catch (ArgumentException e)
            {
                throw new UsageException(e.Message);
            }
            string path = model.ModelPath(p, io);
            string id = name ?? Path.GetFileNameWithoutExtension(Path.TrimEndingDirectorySeparator(path));
            if (adapters.FirstOrDefault(a => a.Name == id) is { Name: not null } clash)
                throw new UsageException($"--adapter {clash.Name}=...: the name is the base model's id; pick another (or set --served-model-name).");

            var options = new ServerOptions
            {
                Host = address,
                Port = p.GetValue(port),
                ServedModelName = id,
                ApiKeys = keys,
                MaxTokensCap = p.GetValue(maxTokensCap),
                ChatTemplate = template,
                AdaptersDir = dir,
                MaxUploadBytes = (long)p.GetValue(maxUploadMib) << 20,
            };
            string data = p.GetValue(dataDir)!;
            if (data.Trim().Length == 0) throw new UsageException("--data-dir: expected a folder, got an empty name.");
            if (File.Exists(data)) throw new UsageException($"--data-dir {data}: is a file; expected a folder (it is created if missing).");
            var settings = new ModelHostSettings
            {
                ModelPath = path,
                ServedModelName = id,
                ChatTemplate = template,
                Engine = engine,
                Adapters = adapters,
                AdaptersDir = dir,
                AdapterCacheBytes = (long)p.GetValue(cacheMib) << 20,
                Threads = p.GetValue(model.Threads),
                KvFormat = model.KvCache!.Format(p),
                DataDir = data,
                JobLog = JobLog(io),
            };
            return Run(options, settings, io, cancel);
        });
    }

    private static int Run(ServerOptions options, ModelHostSettings settings, CliIo io, CancellationToken cancel)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        // SIGTERM (docker stop, systemd) stops the server as Ctrl-C does.
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c =>
        {
            c.Cancel = true;
            stop.Cancel();
        });
        var server = new ScionServer(options, logging => logging.AddProvider(new ErrLoggerProvider(io.Err)));
        try
        {
            server.StartAsync(stop.Token).GetAwaiter().GetResult();
            io.Err.WriteLine($"scion: listening on {server.Url}; loading {settings.ModelPath} (/health answers 503 until it is ready)");
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var load = server.LoadAsync(() => ModelHostFactory.Load(settings));
            try
            {
                load.Wait(stop.Token);
            }
            catch (AggregateException e) when (e.InnerException is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            }
            var served = server.State.Host!;
            if (served.Adapters is { } store) io.Err.WriteLine($"scion: {store.List().Count} adapters registered");
            if (options.ApiKeys.Count > 0) io.Err.WriteLine($"scion: {options.ApiKeys.Count} API key(s) accepted (send 'Authorization: Bearer KEY')");
            io.Err.WriteLine($"scion: loaded in {clock.Elapsed.TotalSeconds:F1} s");
            io.Err.WriteLine($"scion: KV cache {served.Engine.KvCacheTokens} tokens ({served.Engine.KvFormat}, {served.Engine.KvCacheBytes / 1048576.0:F1} MiB)");
            io.Err.WriteLine($"scion: web console at {server.Url}/");
            io.Err.WriteLine($"scion: serving {served.Id} at {server.Url} (ctrl-c to stop)");
            io.Err.Flush();
            stop.Token.WaitHandle.WaitOne();
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Stopped while starting or loading: still a clean stop.
        }
        finally
        {
            server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        io.Err.WriteLine("scion: stopped");
        return ExitCodes.Success;
    }

    /// <summary>Job progress into the server's log (stderr), one line each, whichever thread reports it.</summary>
    private static Action<string> JobLog(CliIo io)
    {
        var gate = new Lock();
        return line =>
        {
            lock (gate)
            {
                io.Err.WriteLine($"scion: {line}");
                io.Err.Flush();
            }
        };
    }

    /// <summary>--adapter NAME=DIR, each checked: a valid name, given once, and a folder holding adapter_config.json.</summary>
    private static List<(string Name, string Folder)> ParseAdapters(string[] values)
    {
        var result = new List<(string, string)>();
        foreach (string value in values)
        {
            int eq = value.IndexOf('=');
            if (eq <= 0 || eq == value.Length - 1)
                throw new UsageException($"--adapter {value}: expected NAME=DIR (a model name, '=', an adapter folder).");
            string name = value[..eq], folder = value[(eq + 1)..];
            if (AdapterStore.NameProblem(name) is { } problem) throw new UsageException($"--adapter {value}: {problem}.");
            if (result.Any(r => r.Item1 == name)) throw new UsageException($"--adapter {value}: the name '{name}' is given twice.");
            PathChecks.ExistingFolder(folder, "--adapter", "adapter");
            if (!File.Exists(Path.Combine(folder, "adapter_config.json")))
                throw new FileNotFoundException($"--adapter {value}: {folder} has no adapter_config.json; not a PEFT adapter folder.");
            result.Add((name, folder));
        }
        return result;
    }

    /// <summary>--api-key values and the lines of --api-keys-file (blank and # lines ignored). Keys are never printed.</summary>
    private static List<string> Keys(string[] given, string? file)
    {
        var keys = new List<string>();
        foreach (string k in given)
        {
            if (string.IsNullOrWhiteSpace(k)) throw new UsageException("--api-key: expected a key, got an empty one.");
            keys.Add(k.Trim());
        }
        if (file is not null)
        {
            PathChecks.ExistingFile(file, "--api-keys-file", "API keys");
            int before = keys.Count;
            foreach (string raw in File.ReadAllLines(file))
            {
                string line = raw.Trim();
                if (line.Length > 0 && !line.StartsWith('#')) keys.Add(line);
            }
            if (keys.Count == before) throw new InvalidDataException($"--api-keys-file {file}: holds no key (blank lines and # lines are ignored); the server would be open.");
        }
        return [.. keys.Distinct(StringComparer.Ordinal)];
    }

    private static string ReadTemplate(string file)
    {
        string text = File.ReadAllText(PathChecks.ExistingFile(file, "--chat-template", "chat template"));
        try
        {
            ChatTemplate.Parse(text);
        }
        catch (TemplateException e)
        {
            throw new InvalidDataException($"--chat-template {file}: {e.Message}", e);
        }
        return text;
    }
}
