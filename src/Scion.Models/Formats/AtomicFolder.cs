namespace Scion.Models.Formats;

/// <summary>How <see cref="AtomicFolder.Write"/> treats a target folder that already holds something.</summary>
public enum ExistingFolder
{
    /// <summary>The new folder replaces the old one whole (a checkpoint).</summary>
    Replace,
    /// <summary>The new files are moved into the old folder one by one, each replacing its namesake; other files stay
    /// (an output folder the user asked to write into with --force).</summary>
    MergeInto,
}

/// <summary>
/// Builds a folder so that readers never see it half-written: everything goes into a temporary sibling
/// (<c>.NAME.ID.tmp</c>, with a held lock file beside it so sweeps in other processes leave it alone) that is renamed
/// to the target as one. On failure, or when the process is stopped (as <see cref="AtomicFile"/>), the temporary is
/// deleted and the target is untouched; a kill -9 leaves it behind for the next write of the same target to remove.
/// </summary>
public static class AtomicFolder
{
    /// <param name="build">writes the folder's contents into the temporary folder it is given.</param>
    /// <param name="moveLast">with <see cref="ExistingFolder.MergeInto"/>, files moved after all the others (a config
    /// that must not name weights before they are in place).</param>
    public static void Write(string path, Action<string> build, ExistingFolder existing, params string[] moveLast)
    {
        ArgumentNullException.ThrowIfNull(build);
        string full = Path.GetFullPath(Path.TrimEndingDirectorySeparator(path));
        string parent = Path.GetDirectoryName(full) ?? ".";
        string name = Path.GetFileName(full);
        if (File.Exists(full)) throw new IOException($"{path}: is a file; expected a folder to write.");
        Directory.CreateDirectory(parent);
        TemporaryNames.DeleteStale(parent, n => n == name);
        string id = TemporaryNames.NewId();
        string temp = TemporaryNames.Temporary(parent, name, id), lockPath = TemporaryNames.Lock(parent, name, id);
        AtomicFile.Track(lockPath);
        AtomicFile.Track(temp);
        try
        {
            using (new FileStream(lockPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose))
            {
                Directory.CreateDirectory(temp);
                build(temp);
                Install(temp, full, parent, name, existing, moveLast);
            }
        }
        catch
        {
            TemporaryNames.TryDelete(temp);
            throw;
        }
        finally
        {
            TemporaryNames.TryDelete(lockPath);
            AtomicFile.Untrack(temp);
            AtomicFile.Untrack(lockPath);
        }
    }

    /// <summary>Deletes the stale temporaries (files and folders) in <paramref name="directory"/> of every target whose
    /// name <paramref name="isTarget"/> accepts, e.g. a trainer sweeping the half-written checkpoints of earlier steps.</summary>
    public static void DeleteStaleTemporaries(string directory, Func<string, bool> isTarget) => TemporaryNames.DeleteStale(directory, isTarget);

    private static void Install(string temp, string full, string parent, string name, ExistingFolder existing, string[] moveLast)
    {
        if (!Directory.Exists(full))
        {
            Directory.Move(temp, full);
            return;
        }
        if (!Directory.EnumerateFileSystemEntries(full).Any())
        {
            // Directory.Move will not rename onto an existing folder, even an empty one.
            Directory.Delete(full);
            Directory.Move(temp, full);
            return;
        }
        if (existing == ExistingFolder.Replace)
        {
            // The old folder steps aside under a temporary name (swept as stale if this process dies here), the new one
            // takes its place, then the old one goes.
            string old = TemporaryNames.Temporary(parent, name, TemporaryNames.NewId());
            Directory.Move(full, old);
            Directory.Move(temp, full);
            TemporaryNames.TryDelete(old);
            return;
        }
        var entries = Directory.EnumerateFileSystemEntries(temp)
            .OrderBy(e => Array.IndexOf(moveLast, Path.GetFileName(e)) >= 0 ? 1 : 0).ThenBy(e => e, StringComparer.Ordinal).ToList();
        foreach (var entry in entries)
        {
            string destination = Path.Combine(full, Path.GetFileName(entry));
            if (Directory.Exists(entry))
            {
                TemporaryNames.TryDelete(destination);
                Directory.Move(entry, destination);
            }
            else
                File.Move(entry, destination, overwrite: true);
        }
        Directory.Delete(temp);
    }
}
