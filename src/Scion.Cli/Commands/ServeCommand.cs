using System.CommandLine;
using System.Runtime.InteropServices;
using Scion.Cli.CommandLine;
using Scion.Server;
using Scion.Serving.Engine;

namespace Scion.Cli.Commands;

/// <summary>
/// `scion serve`: the OpenAI-compatible server (Scion.Server) over the bundled or given model. It listens first and
/// loads the model in the background (/health answers 503 until it is ready), prints the URL when ready, and runs
/// until Ctrl-C or SIGTERM, then drains and exits 0.
/// </summary>
internal static class ServeCommand
{
    public static Command Build()
    {
        var model = new ModelOptions(adapter: false, tokenizer: false);
        var host = new Option<string>("--host") { Description = "address to listen on (0.0.0.0 for every interface)", DefaultValueFactory = _ => "127.0.0.1", HelpName = "ADDR" };
        var port = Opt.Int("--port", 8080, "TCP port (0: any free port, printed when ready)", 0, 65535);
        var name = Opt.Text("--served-model-name", "the base model's id in /v1/models and requests' \"model\" (default: the model file's name)", "NAME");
        var adapters = new Option<string[]>("--adapter") { Description = "serve the PEFT adapter in DIR as model NAME (repeatable)", HelpName = "NAME=DIR" };
        var adaptersDir = Opt.Text("--adapters-dir", "register every adapter folder in DIR under its folder name; runtime loads are confined to DIR", "DIR");
        var cacheMib = Opt.Int("--adapter-cache-mib", 2048, "host memory for loaded adapters (least recently used ones are evicted)", 1, 1 << 20);
        var kvTokens = Opt.Int("--kv-tokens", 0, "KV cache size in tokens shared by all requests (0: sixteen contexts, at most 65536)", 0, 1 << 24);
        var batchTokens = Opt.Int("--max-batch-tokens", 512, "tokens per engine step (the chunked-prefill budget)", 1, 1 << 20);
        var maxSeqs = Opt.Int("--max-seqs", 64, "sequences per engine step", 1, 4096);
        var maxTokensCap = Opt.Int("--max-tokens-cap", 0, "largest max_tokens a request may ask for (0: the context length)", 0, 1 << 24);
        var keys = new Option<string[]>("--api-key") { Description = "accept this bearer key (repeatable; without keys no authentication)", HelpName = "KEY" };
        var keysFile = Opt.Text("--api-keys-file", "accept the keys in FILE, one per line (blank lines and # comments ignored)", "FILE");
        var template = Opt.Text("--chat-template", "Jinja chat template file used instead of the model's own", "FILE");
        var command = new Command("serve", "serve the model over an OpenAI-compatible HTTP API (chat, completions, models)");
        model.AddTo(command);
        command.With(host, port, name, adapters, adaptersDir, cacheMib, kvTokens, batchTokens, maxSeqs, maxTokensCap, keys, keysFile, template);
        return command.WithHandler((p, io, cancel) =>
        {
            // Everything is checked before the model loads or the port opens.
            var named = new List<(string Name, string Folder)>();
            foreach (var pair in p.GetValue(adapters) ?? [])
            {
                int eq = pair.IndexOf('=');
                if (eq <= 0 || eq == pair.Length - 1) throw new UsageException($"serve: --adapter expects NAME=DIR, got '{pair}'.");
                string adapterName = pair[..eq], folder = pair[(eq + 1)..];
                PathChecks.ExistingFolder(folder, "--adapter", "adapter");
                if (!File.Exists(Path.Combine(folder, "adapter_config.json")))
                    throw new ArgumentException($"--adapter {pair}: {folder} has no adapter_config.json; expected a PEFT adapter folder.");
                if (named.Any(n => n.Name == adapterName)) throw new UsageException($"serve: --adapter names '{adapterName}' twice.");
                named.Add((adapterName, folder));
            }
            string? rootDir = p.GetValue(adaptersDir) is { } d ? PathChecks.ExistingFolder(d, "--adapters-dir", "adapters folder") : null;
            var apiKeys = new List<string>(p.GetValue(keys) ?? []);
            if (p.GetValue(keysFile) is { } kf) apiKeys.AddRange(ReadKeys(PathChecks.ExistingFile(kf, "--api-keys-file", "API keys file")));
            if (apiKeys.Any(string.IsNullOrWhiteSpace)) throw new UsageException("serve: --api-key must not be empty.");
            string? templateText = p.GetValue(template) is { } tf ? File.ReadAllText(PathChecks.ExistingFile(tf, "--chat-template", "chat template")) : null;
            string path = model.ModelPath(p, io);
            var options = new ServerOptions
            {
                Host = p.GetValue(host)!,
                Port = p.GetValue(port),
                ServedModelName = p.GetValue(name),
                ApiKeys = apiKeys,
                MaxTokensCap = p.GetValue(maxTokensCap),
                ChatTemplate = templateText,
                AdaptersDir = rootDir,
            };
            var settings = new ModelHostSettings
            {
                ModelPath = path,
                ServedModelName = p.GetValue(name),
                ChatTemplate = templateText,
                Engine = new EngineOptions { KvCacheTokens = p.GetValue(kvTokens), MaxBatchTokens = p.GetValue(batchTokens), MaxSequences = p.GetValue(maxSeqs) },
                Adapters = named,
                AdaptersDir = rootDir,
                AdapterCacheBytes = (long)p.GetValue(cacheMib) << 20,
                Threads = p.GetValue(model.Threads),
            };
            settings.Engine.Validate();
            return Run(options, settings, io, cancel).GetAwaiter().GetResult();
        });
    }

    private static async Task<int> Run(ServerOptions options, ModelHostSettings settings, CliIo io, CancellationToken cancel)
    {
        // SIGTERM (a supervisor, `docker stop`) stops the server as Ctrl-C does.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        await using var server = new ScionServer(options);
        try
        {
            await server.StartAsync(stop.Token);
        }
        catch (IOException e)
        {
            throw new IOException($"serve: cannot listen on {options.Host}:{options.Port}: {e.Message}", e);
        }
        io.Err.WriteLine($"listening on {server.Url}; loading {settings.ModelPath}");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await server.LoadAsync(() => ModelHostFactory.Load(settings));
        var hosted = server.State.Host!;
        int adapterCount = hosted.Adapters?.List().Count ?? 0;
        io.Err.WriteLine($"loaded {settings.ModelPath} in {clock.Elapsed.TotalSeconds:F1} s" +
                         (adapterCount > 0 ? $" with {adapterCount} adapters registered" : "") +
                         (options.ApiKeys.Count > 0 ? $"; {options.ApiKeys.Count} API key(s) required" : ""));
        // The one line on stdout: scripts read the URL from it.
        io.Out.WriteLine($"serving {hosted.Id} at {server.Url}");
        io.Out.Flush();
        io.Err.WriteLine("press Ctrl-C to stop");
        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token);
        }
        catch (OperationCanceledException)
        {
        }
        io.Err.WriteLine("stopping");
        return ExitCodes.Success;
    }

    private static IEnumerable<string> ReadKeys(string file) =>
        File.ReadAllLines(file).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'));
}
