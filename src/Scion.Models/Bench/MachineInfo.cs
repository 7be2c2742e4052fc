namespace Scion.Models.Bench;

/// <summary>What a benchmark result needs to say about where it ran, and process memory from /proc (Linux).</summary>
public static class MachineInfo
{
    /// <summary>"model name" of /proc/cpuinfo, else the OS description.</summary>
    public static string CpuModel()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
                if (line.StartsWith("model name", StringComparison.Ordinal) && line.IndexOf(':') is int i and > 0)
                    return line[(i + 1)..].Trim();
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return System.Runtime.InteropServices.RuntimeInformation.OSDescription;
    }

    /// <summary>Resident memory now (VmRSS) in bytes, or -1 where /proc/self/status is unavailable.</summary>
    public static long ResidentBytes() => StatusField("VmRSS:");

    /// <summary>Peak resident memory (VmHWM) in bytes, or -1.</summary>
    public static long PeakResidentBytes() => StatusField("VmHWM:");

    /// <summary>Bytes of this process's memory mapped with 2 MiB pages, anonymous (AnonHugePages) plus file
    /// (FilePmdMapped), or -1: decode streams its weights at a rate that depends on it.</summary>
    public static long HugePageBytes()
    {
        long anon = StatusField("AnonHugePages:", "/proc/self/smaps_rollup"), file = StatusField("FilePmdMapped:", "/proc/self/smaps_rollup");
        return anon < 0 && file < 0 ? -1 : Math.Max(anon, 0) + Math.Max(file, 0);
    }

    private static long StatusField(string name, string path = "/proc/self/status")
    {
        try
        {
            foreach (var line in File.ReadLines(path))
            {
                if (!line.StartsWith(name, StringComparison.Ordinal)) continue;
                var parts = line[name.Length..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return long.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture) * 1024; // kB
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return -1;
    }
}
