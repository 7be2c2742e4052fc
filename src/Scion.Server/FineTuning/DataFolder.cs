using System.Security.Cryptography;
using Scion.Models.Formats;

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

    /// <summary>Creates the folders and removes temporaries (".NAME.GUID.tmp") a killed server left in them, with the
    /// same lock-checked sweep every atomic write of the project uses.</summary>
    public void Create()
    {
        foreach (var dir in new[] { Root, Files, Jobs, Adapters })
        {
            Directory.CreateDirectory(dir);
            AtomicFolder.DeleteStaleTemporaries(dir, _ => true);
        }
    }

    /// <summary>A fresh temporary path beside <paramref name="final"/> in the project's temporary naming, for an upload
    /// streamed asynchronously (<see cref="AtomicFile"/> writes synchronously).</summary>
    public static string TempBeside(string final) =>
        Path.Combine(Path.GetDirectoryName(final)!, $".{Path.GetFileName(final)}.{Guid.NewGuid():N}.tmp");

    /// <summary>Copies the PEFT files of <paramref name="source"/> into <paramref name="final"/> as one rename.</summary>
    public static void PublishAdapter(string source, string final) => AtomicFolder.Write(final, temp =>
    {
        foreach (var name in new[] { "adapter_config.json", "adapter_model.safetensors" })
            File.Copy(Path.Combine(source, name), Path.Combine(temp, name));
    }, ExistingFolder.Replace);

    /// <summary>An id like OpenAI's: a prefix and 24 random hex digits.</summary>
    public static string NewId(string prefix) => prefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
}
