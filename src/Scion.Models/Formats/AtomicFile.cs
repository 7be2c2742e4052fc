using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace Scion.Models.Formats;

/// <summary>
/// Writes a file so that readers see either the old file or the complete new one, never a half-written one:
/// the content goes to a temporary file in the same folder (so the rename stays on one file system), is flushed
/// to disk, and then renamed over the target. On failure the temporary file is deleted and the target is untouched;
/// when the process is stopped mid-write the temporary files still being written are deleted as it goes: on SIGTERM
/// and normal exit always, on Ctrl-C once a program has called <see cref="DeleteTemporariesOnInterrupt"/>. A kill -9
/// leaves its temporary behind; the next write of the same target removes it (see <see cref="TemporaryNames"/>).
/// </summary>
public static class AtomicFile
{
    private static readonly ConcurrentDictionary<string, byte> InFlight = new(StringComparer.Ordinal);
    private static readonly Lazy<PosixSignalRegistration?> ExitHooks = new(RegisterExitHooks);
    private static PosixSignalRegistration? _interruptHook;

    /// <summary>
    /// Makes Ctrl-C (SIGINT) that ends the process delete the temporary files of writes in progress, so an interrupted
    /// `quantize` leaves no multi-megabyte .tmp behind. Call it at start-up, before any Console.CancelKeyPress handler
    /// is added: signal handlers run latest-registered first, so this one then runs last and leaves the files alone
    /// when a handler cancelled the signal to stop gracefully (finetune saving its checkpoint).
    /// </summary>
    public static void DeleteTemporariesOnInterrupt()
    {
        _ = ExitHooks.Value;
        if (OperatingSystem.IsWindows() || _interruptHook is not null) return;
        _interruptHook = PosixSignalRegistration.Create(PosixSignal.SIGINT, context =>
        {
            if (!context.Cancel) DeleteInFlightTemporaries();
        });
    }

    public static void Write(string path, Action<FileStream> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        string full = System.IO.Path.GetFullPath(path);
        string dir = System.IO.Path.GetDirectoryName(full) ?? ".";
        string name = System.IO.Path.GetFileName(full);
        Directory.CreateDirectory(dir);
        TemporaryNames.DeleteStale(dir, n => n == name);
        string temp = TemporaryNames.Temporary(dir, name, TemporaryNames.NewId());
        Track(temp);
        try
        {
            // FileShare.None is what tells another process's stale-temporary sweep that this file is still being written.
            var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
            try
            {
                write(stream);
                stream.Flush(flushToDisk: true);
                // On Unix the rename happens while the lock is still held, so no sweep can see the finished temporary
                // unlocked and delete it just before the rename; Windows cannot rename an open file.
                if (!OperatingSystem.IsWindows()) File.Move(temp, full, overwrite: true);
            }
            finally
            {
                stream.Dispose();
            }
            if (OperatingSystem.IsWindows()) File.Move(temp, full, overwrite: true);
        }
        catch
        {
            TemporaryNames.TryDelete(temp);
            throw;
        }
        finally
        {
            Untrack(temp);
        }
    }

    /// <summary>
    /// Deletes temporaries that writers killed mid-write (kill -9, a crash) left beside <paramref name="target"/>;
    /// <see cref="Write"/> does this itself before each write. Temporaries of writes still running, in this process
    /// or another, are left alone.
    /// </summary>
    public static void DeleteStaleTemporaries(string target)
    {
        string full = System.IO.Path.GetFullPath(System.IO.Path.TrimEndingDirectorySeparator(target));
        string name = System.IO.Path.GetFileName(full);
        if (System.IO.Path.GetDirectoryName(full) is { } dir) TemporaryNames.DeleteStale(dir, n => n == name);
    }

    internal static void Track(string temporary)
    {
        _ = ExitHooks.Value;
        InFlight[temporary] = 0;
    }

    internal static void Untrack(string temporary) => InFlight.TryRemove(temporary, out _);

    internal static bool IsInFlight(string temporary) => InFlight.ContainsKey(temporary);

    /// <summary>Deletes the temporary files of writes still in progress (the process is going away); only those in
    /// <paramref name="folder"/> when given (tests, which share the process with other writers).</summary>
    internal static void DeleteInFlightTemporaries(string? folder = null)
    {
        string? prefix = folder is null ? null : System.IO.Path.GetFullPath(folder) + System.IO.Path.DirectorySeparatorChar;
        foreach (var temp in InFlight.Keys)
            if (prefix is null || temp.StartsWith(prefix, StringComparison.Ordinal)) TemporaryNames.TryDelete(temp);
    }

    private static PosixSignalRegistration? RegisterExitHooks()
    {
        // SIGTERM ends the process without ProcessExit: it gets its own hook (the default action, termination, stays).
        // Ctrl-C is not hooked here: registered this late, the hook would run before a CancelKeyPress handler that
        // may cancel the signal and keep writing (see DeleteTemporariesOnInterrupt).
        AppDomain.CurrentDomain.ProcessExit += (_, _) => DeleteInFlightTemporaries();
        if (OperatingSystem.IsWindows()) return null;
        return PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => DeleteInFlightTemporaries(null));
    }
}
