using System.Diagnostics;

namespace Scion.Cli.Tests;

/// <summary>`scion serve` as a child process (so a test can kill -9 it), with its stderr log lines awaitable.</summary>
internal sealed class ServeProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Done)> _waiters = [];

    public ServeProcess(params string[] args)
    {
        string apphost = Path.Combine(AppContext.BaseDirectory, "scion");
        var start = File.Exists(apphost) ? new ProcessStartInfo(apphost) : new ProcessStartInfo("dotnet") { ArgumentList = { Path.Combine(AppContext.BaseDirectory, "scion.dll") } };
        foreach (var a in (string[])["serve", "--port", "0", "--model", Bundled.Model, .. args]) start.ArgumentList.Add(a);
        start.RedirectStandardError = true;
        start.RedirectStandardOutput = true;
        _process = Process.Start(start)!;
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (_lines)
            {
                _lines.Add(e.Data);
                foreach (var w in _waiters.Where(w => w.Match(e.Data)).ToList())
                {
                    _waiters.Remove(w);
                    w.Done.TrySetResult(e.Data);
                }
            }
        };
        _process.BeginErrorReadLine();
        _ = _process.StandardOutput.ReadToEndAsync();
    }

    public string Log
    {
        get { lock (_lines) return string.Join("\n", _lines); }
    }

    /// <summary>The first log line (already printed or still to come) that matches.</summary>
    public async Task<string> LineAsync(Func<string, bool> match)
    {
        TaskCompletionSource<string> done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lines)
        {
            if (_lines.FirstOrDefault(match) is { } seen) return seen;
            _waiters.Add((match, done));
        }
        var exited = _process.WaitForExitAsync();
        var first = await Task.WhenAny(done.Task, exited).WaitAsync(TimeSpan.FromMinutes(3));
        if (first != done.Task) throw new InvalidOperationException($"scion serve exited ({_process.ExitCode}) before the line was printed:\n{Log}");
        return await done.Task;
    }

    /// <summary>The URL it prints once serving.</summary>
    public async Task<Uri> UrlAsync()
    {
        string line = await LineAsync(l => l.StartsWith("scion: serving ", StringComparison.Ordinal));
        int at = line.IndexOf(" at ", StringComparison.Ordinal) + 4;
        return new Uri(line[at..line.IndexOf(' ', at)]);
    }

    /// <summary>SIGKILL: no shutdown code runs.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public void Dispose()
    {
        if (!_process.HasExited) Kill();
        _process.Dispose();
    }
}
