using Scion.Tensors;
using Scion.Tensors.Packed;

namespace Scion.Models.Llama;

/// <summary>
/// Repacks a model's Q4_0 / Q8_0 linear weights at load into the 8-row layout of <see cref="PackedWeights"/> when
/// this CPU runs the packed kernels. <c>SCION_REPACK=0</c> turns it off. The mapped originals stay attached (the
/// embedding and training read rows); their pages, made resident by the packing, are handed back to the kernel so
/// resident memory stays about one copy of the weights.
/// </summary>
internal static unsafe class WeightPacking
{
    public static bool Enabled => EnvironmentSettings.Repack;

    /// <param name="releaseSource">whether the weights are a read-only file mapping whose pages may be dropped
    /// (never for memory the process owns: MADV_DONTNEED would zero it)</param>
    /// <param name="owned">receives the packed copies; the caller disposes them after the last use of the result</param>
    public static LlamaWeights Attach(LlamaWeights weights, WorkerPool pool, bool releaseSource, List<PackedWeights> owned)
    {
        KernelLevel level = KernelSelection.Current;
        var done = new Dictionary<nint, WeightMatrix>();   // a tied output is packed once
        return weights.WithLinears(w =>
        {
            if (!PackedWeights.HasKernels(w.Type, level) || !PackedWeights.IsPackable(w.Type, w.Cols)) return w;
            if (done.TryGetValue((nint)w.Data, out var same)) return same;
            var packed = PackedWeights.TryPack(w, pool);
            if (packed is null) return w;
            owned.Add(packed);
            if (releaseSource) MemoryAdvice.ReleaseMappedPages(w.Data, w.ByteCount);
            var result = w.WithPacked(packed);
            done[(nint)w.Data] = result;
            return result;
        });
    }
}
