using System.Runtime.InteropServices;

namespace Scion.Tensors.Cpu;

/// <summary>
/// Pins the calling thread to one CPU through the Linux scheduler (sched_setaffinity on the calling thread). .NET has
/// no managed per-thread affinity API; elsewhere, or if libc refuses, the calls report false and threads stay free.
/// </summary>
internal static unsafe partial class ThreadAffinity
{
    private const int MaskWords = 16; // cpu_set_t: 1024 bits

    /// <summary>The CPUs this process may run on, ascending; null where that cannot be asked.</summary>
    public static int[]? AllowedCpus()
    {
        if (!OperatingSystem.IsLinux()) return null;
        ulong* mask = stackalloc ulong[MaskWords];
        try
        {
            if (sched_getaffinity(0, MaskWords * sizeof(ulong), mask) != 0) return null;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
        var cpus = new List<int>();
        for (int w = 0; w < MaskWords; w++)
            for (int b = 0; b < 64; b++)
                if ((mask[w] & (1UL << b)) != 0) cpus.Add(w * 64 + b);
        return cpus.ToArray();
    }

    /// <summary>Restricts the calling thread to <paramref name="cpu"/>; false if the OS did not accept it.</summary>
    public static bool PinCurrentThread(int cpu)
    {
        if (!OperatingSystem.IsLinux() || cpu < 0 || cpu >= MaskWords * 64) return false;
        ulong* mask = stackalloc ulong[MaskWords];
        new Span<ulong>(mask, MaskWords).Clear();
        mask[cpu / 64] = 1UL << (cpu % 64);
        try
        {
            return sched_setaffinity(0, MaskWords * sizeof(ulong), mask) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    // pid 0 = the calling thread (Linux applies thread affinity per task).
    [LibraryImport("libc", SetLastError = true)]
    private static partial int sched_getaffinity(int pid, nuint size, ulong* mask);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int sched_setaffinity(int pid, nuint size, ulong* mask);
}
