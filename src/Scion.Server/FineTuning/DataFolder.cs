using System.Security.Cryptography;

namespace Scion.Server.FineTuning;

/// <summary>
/// The server's data folder (--data-dir): scion.db (the job store), files/ (uploads), jobs/ID/ (a job's run folder:
/// checkpoints, metrics.jsonl), adapters/NAME/ (finished adapters and checkpoint adapters, in PEFT layout). Every
/// file and folder that matters is written under a temporary name and renamed into place, so a crash leaves either
/// the old state or the new one; temporaries a crash left behind are removed when the folder is opened.
/// </summary>
public sealed class DataFolder
{
    public const string DatabaseFile = "scion.db";
    private const string TempSuffix = ".tmp";

    public DataFolder(string root)
    {
        Root = Path.GetFullPath(root);
    }

    public string Root { get; }
    public string Database => Path.Combine(Root, DatabaseFile);
    public string Files => Path.Combine(Root, "files");
    public string Jobs => Path.Combine(Root, "jobs");
    public string Adapters => Path.Combine(Root, "adapters");
    public bool Exists => File.Exists(Database);

    public string FilePath(string relative) => Path.Combine(Root, relative);
    public string JobFolder(string jobId) => Path.Combine(Jobs, jobId);
    public string AdapterFolder(string name) => Path.Combine(Adapters, name);

    /// <summary>Creates the folders and removes temporaries (".NAME.GUID.tmp") a killed server left in them.</summary>
    public void Create()
    {
        foreach (var dir in new[] { Root, Files, Jobs, Adapters })
        {
            Directory.CreateDirectory(dir);
            foreach (var entry in Directory.EnumerateFileSystemEntries(dir, "." + "*" + TempSuffix))
            {
                try
                {
                    if (Directory.Exists(entry)) Directory.Delete(entry, recursive: true);
                    else File.Delete(entry);
                }
                catch (IOException)
                {
                    // In use or gone already: the next start tries again.
                }
            }
        }
    }

    /// <summary>A fresh temporary path beside <paramref name="final"/>, named so <see cref="Create"/> recognises it.</summary>
    public static string TempBeside(string final) =>
        Path.Combine(Path.GetDirectoryName(final)!, $".{Path.GetFileName(final)}.{Guid.NewGuid():N}{TempSuffix}");

    /// <summary>Copies the PEFT files of <paramref name="source"/> into <paramref name="final"/> as one rename.</summary>
    public static void PublishAdapter(string source, string final)
    {
        string temp = TempBeside(final);
        Directory.CreateDirectory(temp);
        try
        {
            foreach (var name in new[] { "adapter_config.json", "adapter_model.safetensors" })
                File.Copy(Path.Combine(source, name), Path.Combine(temp, name));
            if (Directory.Exists(final)) Directory.Delete(final, recursive: true);
            Directory.Move(temp, final);
        }
        catch
        {
            try { Directory.Delete(temp, recursive: true); } catch (IOException) { }
            throw;
        }
    }

    /// <summary>An id like OpenAI's: a prefix and 24 random hex digits.</summary>
    public static string NewId(string prefix) => prefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
}
