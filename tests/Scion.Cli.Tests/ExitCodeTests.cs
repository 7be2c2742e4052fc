using System.Diagnostics;

namespace Scion.Cli.Tests;

/// <summary>Exit codes as the README documents them: 0, 1, 2 and 130, in-process and for the real binary.</summary>
public class ExitCodeTests
{
    [Fact]
    public void LibraryExceptionsBecomeOneLineErrors()
    {
        var err = new StringWriter();
        // SCION_* settings are read in static constructors: their error arrives wrapped.
        var wrapped = new TypeInitializationException("Scion.Tensors.Kernels", new ArgumentException("SCION_KERNELS='foo' is not one of scalar, avx2, avx512."));
        Assert.Equal(1, CliApp.Fail(wrapped, err, CancellationToken.None));
        Assert.Equal("error: SCION_KERNELS='foo' is not one of scalar, avx2, avx512.\n", err.ToString().Replace("\r\n", "\n"));
        var custom = new StringWriter();
        Assert.Equal(1, CliApp.Fail(new TypeInitializationException("X", new Exception("SCION_THREADS='abc' is not a positive integer.")), custom, CancellationToken.None));
        Assert.Equal("error: SCION_THREADS='abc' is not a positive integer.\n", custom.ToString().Replace("\r\n", "\n"));
        var usage = new StringWriter();
        Assert.Equal(2, CliApp.Fail(new Scion.Cli.CommandLine.UsageException("bad"), usage, CancellationToken.None));
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.Equal(130, CliApp.Fail(new OperationCanceledException(), new StringWriter(), cancelled.Token));
    }

    [Fact]
    public void SigintStopsTheRealBinaryWith130AndNoTemporaryFile()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return; // SIGINT via kill(1)
        string dir = Bundled.TempDir();
        string apphost = Path.Combine(AppContext.BaseDirectory, "scion");
        var start = File.Exists(apphost) ? new ProcessStartInfo(apphost) : new ProcessStartInfo("dotnet") { ArgumentList = { Path.Combine(AppContext.BaseDirectory, "scion.dll") } };
        // A 100M-parameter model takes seconds to write: the signal lands while a tensor is being written.
        foreach (var a in new[] { "create", "--config", "100m", "--type", "Q8_0", "--output", Path.Combine(dir, "big.gguf") }) start.ArgumentList.Add(a);
        start.RedirectStandardError = true;
        start.RedirectStandardOutput = true;
        using var process = Process.Start(start)!;
        using var secondTensor = new ManualResetEventSlim();
        var err = new System.Text.StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (err) err.AppendLine(e.Data);
            if (e.Data.StartsWith("[   2/", StringComparison.Ordinal)) secondTensor.Set();
        };
        process.BeginErrorReadLine();
        process.StandardOutput.ReadToEndAsync();
        Assert.True(secondTensor.Wait(TimeSpan.FromSeconds(120)), err.ToString());
        using (var kill = Process.Start("kill", ["-INT", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!) kill.WaitForExit();
        Assert.True(process.WaitForExit(TimeSpan.FromSeconds(120)), "scion did not stop after SIGINT");
        process.WaitForExit();
        string log;
        lock (err) log = err.ToString();
        Assert.True(process.ExitCode == 130, log);
        Assert.Contains("interrupted", log);
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir));
        Directory.Delete(dir, true);
    }
}
