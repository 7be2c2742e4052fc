using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Scion.Tensors;

/// <summary>Instruction-set tier a kernel variant is written for.</summary>
public enum KernelLevel
{
    /// <summary>Portable scalar code: the reference every other variant is tested against.</summary>
    Scalar = 0,
    /// <summary>256-bit AVX2 + FMA; integer dots with vpmaddubsw/vpmaddwd.</summary>
    Avx2 = 1,
    /// <summary>512-bit AVX-512F/BW for float work; integer dots with AVX-VNNI vpdpbusd when present
    /// (.NET 10 exposes no 512-bit VNNI on AVX-512 parts, so int8 dots stay 256-bit).</summary>
    Avx512 = 2,
}

/// <summary>
/// Picks the kernel variant once per process from what the CPU supports; <c>SCION_KERNELS=scalar|avx2|avx512</c>
/// forces one (a request above what the CPU has falls back to the best available, so CI never crashes on old hardware).
/// </summary>
public static class KernelSelection
{
    /// <summary>The best level this CPU runs.</summary>
    public static KernelLevel Best { get; } = DetectBest();

    /// <summary>The level the public entry points use. A static readonly field so the JIT folds the dispatch away.</summary>
    /// <remarks>A malformed SCION_KERNELS throws <see cref="EnvironmentSettingException"/> here, wrapped by the runtime in a
    /// TypeInitializationException; programs call <see cref="EnvironmentSettings.Validate"/> first to report it plainly.</remarks>
    public static readonly KernelLevel Current = Choose(EnvironmentSettings.Kernels, DetectBest());

    /// <summary>True when this CPU can run <paramref name="level"/>.</summary>
    public static bool IsAvailable(KernelLevel level) => level <= Best;

    /// <summary>Whether integer dot products use the VNNI instruction (vpdpbusd) instead of the maddubs pair.</summary>
    public static bool UsesVnni(KernelLevel level) => level == KernelLevel.Avx512 && AvxVnni.IsSupported;

    /// <summary>One line for logs and benchmark reports, e.g. "avx512 (int8 dots: avx-vnni)".</summary>
    public static string Description =>
        $"{Current.ToString().ToLowerInvariant()} (int8 dots: {(Current == KernelLevel.Scalar ? "scalar" : UsesVnni(Current) ? "avx-vnni" : "avx2 maddubs")}; best on this cpu: {Best.ToString().ToLowerInvariant()})";

    private static KernelLevel DetectBest()
    {
        if (Avx512F.IsSupported && Avx512BW.IsSupported && Vector512.IsHardwareAccelerated && Avx2.IsSupported && Fma.IsSupported)
            return KernelLevel.Avx512;
        if (Avx2.IsSupported && Fma.IsSupported) return KernelLevel.Avx2;
        return KernelLevel.Scalar;
    }

    internal static KernelLevel Choose(KernelLevel? requested, KernelLevel best) =>
        requested is KernelLevel wanted && wanted <= best ? wanted : best;
}
