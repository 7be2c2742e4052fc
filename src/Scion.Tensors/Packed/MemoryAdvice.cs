using System.Runtime.InteropServices;

namespace Scion.Tensors.Packed;

/// <summary>
/// Best-effort madvise hints for large weight copies (Linux; elsewhere, or if the call fails, nothing happens).
/// Each acts on the pages wholly inside the given range.
/// </summary>
public static unsafe class MemoryAdvice
{
    private const int MadvDontNeed = 4;
    private const int MadvHugePage = 14;

    /// <summary>Size of a transparent huge page on x86-64 Linux.</summary>
    public const long HugePageBytes = 2L << 20;

    /// <summary>Whether large owned weight copies ask for huge pages: on Linux unless <c>SCION_HUGEPAGES=0</c>.</summary>
    public static bool UseHugePages =>
        OperatingSystem.IsLinux() && EnvironmentSettings.HugePages;

    /// <summary>Asks for transparent huge pages over a range of owned memory not yet touched.</summary>
    public static void PreferHugePages(void* data, long bytes) => Advise(data, bytes, MadvHugePage);

    /// <summary>Drops the resident pages of a read-only <b>file mapping</b>; a later read faults them back in from the
    /// file. Never for memory the process owns: its contents would be lost (read back as zeros).</summary>
    public static void ReleaseMappedPages(void* data, long bytes) => Advise(data, bytes, MadvDontNeed);

    private static void Advise(void* data, long bytes, int advice)
    {
        if (!OperatingSystem.IsLinux()) return;
        long page = Environment.SystemPageSize;
        long start = ((long)data + page - 1) & ~(page - 1);
        long end = ((long)data + bytes) & ~(page - 1);
        if (end <= start) return;
        try
        {
            _ = Madvise((nint)start, (nuint)(end - start), advice);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
        }
    }

    [DllImport("libc", EntryPoint = "madvise")]
    private static extern int Madvise(nint addr, nuint length, int advice);
}
