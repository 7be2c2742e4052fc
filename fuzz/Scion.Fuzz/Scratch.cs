namespace Scion.Fuzz;

/// <summary>
/// Where a target puts its input when the parser under test reads files: one folder per process (afl runs several
/// in parallel), in /dev/shm when there is one so that each execution costs no disk write. Cleared on every use, so an
/// input never sees the previous one's files.
/// </summary>
public static class Scratch
{
    private static readonly string Root = Path.Combine(
        Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), $"scion-fuzz-{Environment.ProcessId}");

    static Scratch() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        try { if (Directory.Exists(Root)) Directory.Delete(Root, recursive: true); }
        catch (IOException) { } // a file still mapped by a fixture; /dev/shm is emptied at boot anyway
    };

    /// <summary>An empty folder named <paramref name="name"/>.</summary>
    public static string Folder(string name)
    {
        string dir = Path.Combine(Root, name);
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Writes <paramref name="content"/> to a fresh file <paramref name="fileName"/> and returns its path.</summary>
    public static string File(string fileName, ReadOnlySpan<byte> content)
    {
        string path = Path.Combine(Folder(Path.GetFileNameWithoutExtension(fileName)), fileName);
        System.IO.File.WriteAllBytes(path, content.ToArray());
        return path;
    }
}
