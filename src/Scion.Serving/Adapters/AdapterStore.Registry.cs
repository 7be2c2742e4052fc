using Scion.Models.Adapters;

namespace Scion.Serving.Adapters;

/// <summary>Registration: roots, names, and the listing. Registering reads no adapter file beyond checking that a
/// folder holds adapter_config.json; configs and weights are read at the first acquire.</summary>
public sealed partial class AdapterStore
{
    /// <summary>Allows folders under <paramref name="root"/> to be registered, without registering any.</summary>
    public void AddRoot(string root)
    {
        string full = AdapterPaths.NormalizeRoot(root);
        lock (_gate)
            if (!_roots.Contains(full)) _roots.Add(full);
    }

    /// <summary>Adds <paramref name="root"/> and registers every subfolder holding adapter_config.json under its
    /// folder name. Folders whose name is not a valid adapter name, that link outside the roots, or whose name is
    /// already registered for another folder are skipped, each with the reason.</summary>
    public RootScan RegisterRoot(string root)
    {
        AddRoot(root);
        string full = AdapterPaths.NormalizeRoot(root);
        var registered = new List<string>();
        var skipped = new List<string>();
        string[] folders;
        try
        {
            folders = Directory.GetDirectories(full);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AdapterException($"Adapter root '{full}' cannot be listed: {e.Message}", e);
        }
        Array.Sort(folders, StringComparer.Ordinal);
        lock (_gate)
        {
            foreach (string folder in folders)
            {
                string name = Path.GetFileName(folder);
                if (!File.Exists(Path.Combine(folder, PeftAdapterFiles.ConfigFileName))) continue;
                if (AdapterPaths.NameProblem(name) is { } problem) { skipped.Add($"{name}: {problem}"); continue; }
                if (!AdapterPaths.IsInside(folder, _roots)) { skipped.Add($"{name}: links outside the adapter roots"); continue; }
                if (_entries.TryGetValue(name, out var existing) && existing.Folder != folder)
                {
                    skipped.Add($"{name}: already registered for {existing.Folder}");
                    continue;
                }
                _entries.TryAdd(name, new Entry(name, folder));
                registered.Add(name);
            }
        }
        return new RootScan(full, registered, skipped);
    }

    /// <summary>Registers <paramref name="name"/> for the folder of that name in the first root holding one with
    /// adapter_config.json (for folders added after the root was scanned).</summary>
    public void Register(string name)
    {
        AdapterPaths.CheckName(name);
        string[] roots;
        lock (_gate) roots = [.. _roots];
        foreach (string root in roots)
        {
            string folder = Path.Combine(root, name);
            if (File.Exists(Path.Combine(folder, PeftAdapterFiles.ConfigFileName)))
            {
                Register(name, folder);
                return;
            }
        }
        throw new AdapterException(roots.Length == 0
            ? $"Adapter '{name}' cannot be registered: no adapter root has been added."
            : $"Adapter '{name}' cannot be registered: no folder '{name}' with {PeftAdapterFiles.ConfigFileName} in {string.Join(", ", roots)}.");
    }

    /// <summary>Registers <paramref name="name"/> for <paramref name="folder"/>, which must lie inside an added root.
    /// Registering a name again for the same folder does nothing; for another folder it is refused.</summary>
    public void Register(string name, string folder)
    {
        AdapterPaths.CheckName(name);
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder));
        lock (_gate)
        {
            if (!AdapterPaths.IsInside(full, _roots))
                throw new AdapterException(_roots.Count == 0
                    ? $"Adapter '{name}': folder '{folder}' is refused: no adapter root has been added, and adapters are read only from inside one."
                    : $"Adapter '{name}': folder '{folder}' is outside the adapter roots ({string.Join(", ", _roots)}).");
            if (!File.Exists(Path.Combine(full, PeftAdapterFiles.ConfigFileName)))
                throw new AdapterException($"Adapter '{name}': folder '{folder}' has no {PeftAdapterFiles.ConfigFileName}; not a PEFT adapter folder.");
            if (_entries.TryGetValue(name, out var existing))
            {
                if (existing.Folder == full) return;
                throw new AdapterException($"Adapter '{name}' is already registered for {existing.Folder}; unregister it before registering {full}.");
            }
            _entries.Add(name, new Entry(name, full));
        }
    }

    /// <summary>Registers <paramref name="name"/> for one folder the operator named (`scion serve --adapter NAME=DIR`),
    /// wherever it lies, without adding a root: the folder alone is trusted, so its siblings stay out of reach of
    /// <see cref="Register(string, string)"/> and runtime loads, which remain confined to the roots.</summary>
    public void RegisterFolder(string name, string folder)
    {
        AdapterPaths.CheckName(name);
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder));
        if (!File.Exists(Path.Combine(full, PeftAdapterFiles.ConfigFileName)))
            throw new AdapterException($"Adapter '{name}': folder '{folder}' has no {PeftAdapterFiles.ConfigFileName}; not a PEFT adapter folder.");
        lock (_gate)
        {
            if (_entries.TryGetValue(name, out var existing))
            {
                if (existing.Folder == full) return;
                throw new AdapterException($"Adapter '{name}' is already registered for {existing.Folder}; unregister it before registering {full}.");
            }
            _entries.Add(name, new Entry(name, full));
        }
    }

    /// <summary>Null when <paramref name="name"/> may name an adapter (one folder name: letters, digits, '.', '_', '-'), else why not.</summary>
    public static string? NameProblem(string? name) => AdapterPaths.NameProblem(name);

    /// <summary>Removes <paramref name="name"/>: new acquires fail, a load in progress is discarded, and its memory is
    /// released at once, or when the last lease on it is disposed. False when it was not registered.</summary>
    public bool Unregister(string name)
    {
        lock (_gate)
        {
            if (!_entries.Remove(name, out var entry)) return false;
            if (entry.Resident is not null && entry.Pins == 0) DropResidentLocked(entry);
            return true;
        }
    }

    /// <summary>Drops <paramref name="name"/> from host memory now, keeping it registered (the next acquire loads it
    /// again). False when it is not resident or is pinned (leased, or about to be by waiting acquires).</summary>
    public bool Unload(string name)
    {
        lock (_gate)
        {
            if (!_entries.TryGetValue(name, out var entry) || entry.Resident is null || entry.Pins > 0 || entry.Waiters > 0) return false;
            DropResidentLocked(entry);
            return true;
        }
    }

    /// <summary>Every registered adapter, by name.</summary>
    public IReadOnlyList<AdapterInfo> List()
    {
        lock (_gate) return [.. _entries.Values.OrderBy(e => e.Name, StringComparer.Ordinal).Select(Describe)];
    }

    /// <summary>The registered info of one name, or null.</summary>
    public AdapterInfo? Find(string name)
    {
        lock (_gate) return _entries.TryGetValue(name, out var entry) ? Describe(entry) : null;
    }

    private static AdapterInfo Describe(Entry e) => new()
    {
        Name = e.Name, Folder = e.Folder, IsLoaded = e.Resident is not null, IsLoading = e.Load is not null,
        Pins = e.Pins, Requests = e.Requests, Bytes = e.Bytes >= 0 ? e.Bytes : null,
        Rank = e.Config?.R, Alpha = e.Config?.LoraAlpha, UseDora = e.Config?.UseDora, UseRslora = e.Config?.UseRslora,
        Targets = e.Targets, LastError = e.LastError,
    };
}
