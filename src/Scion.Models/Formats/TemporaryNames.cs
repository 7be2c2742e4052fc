using System.Text.RegularExpressions;

namespace Scion.Models.Formats;

/// <summary>
/// The temporaries the atomic writers create beside a target NAME, and finding the stale ones a killed process left.
/// A temporary file is <c>.NAME.ID.tmp</c> (ID: 32 hex digits), held open without sharing (an exclusive lock on
/// Unix) while it is written; a temporary folder is <c>.NAME.ID.tmp</c> with a lock file <c>.NAME.ID.lock</c> beside it,
/// held the same way. So a temporary whose lock can be taken belongs to no live writer: after a kill -9 the next
/// write of the same target removes it, while a write still running in another process is left alone.
/// </summary>
internal static partial class TemporaryNames
{
    [GeneratedRegex(@"^\.(?<name>.+)\.(?<id>[0-9a-f]{32})\.(?<kind>tmp|lock)$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    public static string NewId() => Guid.NewGuid().ToString("N");

    public static string Temporary(string directory, string name, string id) => Path.Combine(directory, $".{name}.{id}.tmp");

    public static string Lock(string directory, string name, string id) => Path.Combine(directory, $".{name}.{id}.lock");

    /// <summary>Deletes the stale temporaries in <paramref name="directory"/> of targets whose name <paramref name="isTarget"/> accepts.</summary>
    public static void DeleteStale(string directory, Func<string, bool> isTarget)
    {
        if (!Directory.Exists(directory)) return;
        List<string> entries;
        try
        {
            entries = Directory.EnumerateFileSystemEntries(directory, ".*").ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return; // cleaning up is a courtesy; the write itself reports a folder it cannot use
        }
        foreach (var entry in entries)
        {
            var m = Pattern().Match(Path.GetFileName(entry));
            if (!m.Success || !isTarget(m.Groups["name"].Value) || AtomicFile.IsInFlight(entry)) continue;
            string name = m.Groups["name"].Value, id = m.Groups["id"].Value;
            if (m.Groups["kind"].Value == "lock")
            {
                // A lock whose folder is gone (killed after the rename, before the lock was removed) or not yet made.
                if (!Directory.Exists(Temporary(directory, name, id)) && CanLock(entry)) TryDelete(entry);
                continue;
            }
            if (Directory.Exists(entry))
            {
                string lockFile = Lock(directory, name, id);
                if (File.Exists(lockFile) && !CanLock(lockFile)) continue;
                TryDelete(entry);
                TryDelete(lockFile);
            }
            else if (CanLock(entry))
                TryDelete(entry);
        }
    }

    /// <summary>Whether no one holds the file open without sharing (so no live writer owns it).</summary>
    private static bool CanLock(string path)
    {
        try
        {
            using var _ = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.None);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    public static void TryDelete(string path)
    {
        try
        {
            if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
            else File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
