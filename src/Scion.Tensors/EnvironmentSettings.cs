namespace Scion.Tensors;

/// <summary>
/// The SCION_* environment variables the engine reads, parsed in one place. A value that is set but malformed is
/// an <see cref="EnvironmentSettingException"/> naming the variable, what was expected and what was found, never
/// silently ignored: a user who typed SCION_THREADS=four must not be left wondering why nothing changed.
/// </summary>
public static class EnvironmentSettings
{
    public const string ThreadsVariable = "SCION_THREADS";
    public const string KernelsVariable = "SCION_KERNELS";
    public const string PinVariable = "SCION_PIN";
    public const string RepackVariable = "SCION_REPACK";
    public const string HugePagesVariable = "SCION_HUGEPAGES";

    /// <summary>Worker-pool size from SCION_THREADS, or null when unset.</summary>
    public static int? Threads => ParseThreads(Read(ThreadsVariable));

    /// <summary>The kernel level SCION_KERNELS asks for, or null when unset (the CPU's best is used).</summary>
    public static KernelLevel? Kernels => ParseKernels(Read(KernelsVariable));

    /// <summary>Whether worker threads are pinned to CPUs (SCION_PIN, default on).</summary>
    public static bool Pin => ParseSwitch(PinVariable, Read(PinVariable), true);

    /// <summary>Whether Q4_0/Q8_0 weights get the 8-row packed copy at load (SCION_REPACK, default on).</summary>
    public static bool Repack => ParseSwitch(RepackVariable, Read(RepackVariable), true);

    /// <summary>Whether large owned weight copies ask for transparent huge pages (SCION_HUGEPAGES, default on).</summary>
    public static bool HugePages => ParseSwitch(HugePagesVariable, Read(HugePagesVariable), true);

    /// <summary>
    /// Reads every variable above and throws for the first malformed one. A program calls this at start-up, so a
    /// bad value is reported before any kernel runs (and not from inside a type initializer).
    /// </summary>
    public static void Validate()
    {
        _ = Threads;
        _ = Kernels;
        _ = Pin;
        _ = Repack;
        _ = HugePages;
    }

    public static int? ParseThreads(string? value)
    {
        if (value is null) return null;
        return int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n) && n > 0
            ? n
            : throw new EnvironmentSettingException(ThreadsVariable, value, "a positive whole number of worker threads (e.g. 4)");
    }

    public static KernelLevel? ParseKernels(string? value) => value?.ToLowerInvariant() switch
    {
        null => null,
        "scalar" or "reference" => KernelLevel.Scalar,
        "avx2" => KernelLevel.Avx2,
        "avx512" => KernelLevel.Avx512,
        _ => throw new EnvironmentSettingException(KernelsVariable, value, "one of scalar, avx2, avx512"),
    };

    /// <summary>An on/off switch: 1/0, on/off, true/false, yes/no (any case); unset or empty gives <paramref name="fallback"/>.</summary>
    public static bool ParseSwitch(string name, string? value, bool fallback) => value?.ToLowerInvariant() switch
    {
        null => fallback,
        "1" or "on" or "true" or "yes" => true,
        "0" or "off" or "false" or "no" => false,
        _ => throw new EnvironmentSettingException(name, value, "0 or 1 (also off/on, false/true, no/yes)"),
    };

    /// <summary>The trimmed value, or null when the variable is unset or blank.</summary>
    private static string? Read(string name)
    {
        string? value = Environment.GetEnvironmentVariable(name)?.Trim();
        return string.IsNullOrEmpty(value) ? null : value;
    }
}

/// <summary>A SCION_* environment variable with a value the engine cannot use; the message is one line.</summary>
public sealed class EnvironmentSettingException(string variable, string found, string expected)
    : ArgumentException($"environment variable {variable}: expected {expected}, found '{found}'.")
{
    public string Variable { get; } = variable;
    public string Found { get; } = found;
    public string Expected { get; } = expected;
}
