using Scion.Models.Adapters;
using Scion.Models.Formats;
using Scion.Training.Model;

namespace Scion.Training.Peft;

/// <summary>
/// The trained adapters as PEFT files: tensors in HF row order (q/k B rows and DoRA magnitudes permuted back
/// from a GGUF base's rotary order), and PiSSA converted to a plain LoRA against the ORIGINAL base the way PEFT's
/// <c>path_initial_model_for_weight_conversion</c> does: A' = [A; A0], B' = [B, −B0], rank 2r, alpha chosen so the
/// scale is unchanged; then W + scale·B'A' = (W − scale·B0A0) + scale·B A, the trained model.
/// </summary>
public static class AdapterExport
{
    public static (PeftAdapterConfig Config, List<LoraTensorPair> Pairs) ToPeft(TrainingModel model, PeftOptions options, string? baseModel = null)
    {
        var c = model.Config;
        bool pissa = options.Method == PeftMethod.Pissa;
        var pairs = new List<LoraTensorPair>();
        foreach (var m in model.Adapters())
        {
            int r = m.Rank;
            float[] a = m.A.Data, b = m.B.Data;
            int rank = r;
            if (pissa)
            {
                if (m.InitialA is null || m.InitialB is null) throw new InvalidOperationException($"PiSSA adapter {m.Module} of layer {m.Layer} lacks its initial A/B.");
                rank = 2 * r;
                a = [.. m.A.Data, .. m.InitialA];
                b = new float[m.Out * rank];
                for (int o = 0; o < m.Out; o++)
                    for (int k = 0; k < r; k++)
                    {
                        b[o * rank + k] = m.B.Data[o * r + k];
                        b[o * rank + r + k] = -m.InitialB[o * r + k];
                    }
            }
            else
            {
                a = (float[])a.Clone();
            }
            float[]? magnitude = m.Magnitude?.Data;
            if (AdapterFactory.RowsPermuted(model, m.Module))
            {
                b = RotaryPermutation.ToHfOrder<float>(b, rank, c.HeadDim);
                if (magnitude is not null) magnitude = RotaryPermutation.ToHfOrder<float>(magnitude, 1, c.HeadDim);
            }
            else
            {
                b = ReferenceEquals(b, m.B.Data) ? (float[])b.Clone() : b;
                magnitude = (float[]?)magnitude?.Clone();
            }
            pairs.Add(new LoraTensorPair { Layer = m.Layer, Module = m.Module, Rank = rank, In = m.In, Out = m.Out, A = a, B = b, Magnitude = magnitude });
        }
        int outRank = pissa ? 2 * options.Rank : options.Rank;
        // Scale kept: alpha/r → (2·alpha)/(2r); with rsLoRA alpha/√r → (√2·alpha)/√(2r).
        double outAlpha = !pissa ? options.Alpha : options.UseRslora ? options.Alpha * Math.Sqrt(2) : options.Alpha * 2;
        var config = new PeftAdapterConfig
        {
            R = outRank,
            LoraAlpha = outAlpha,
            UseRslora = options.UseRslora,
            UseDora = options.Method == PeftMethod.Dora,
            TargetModules = options.Targets,
            TargetModulesPattern = options.Targets is null ? PeftAdapterConfig.AllLinear : null,
            LayersToTransform = options.Layers,
            BaseModelNameOrPath = baseModel,
        };
        return (config, pairs);
    }

    public static void Save(string directory, TrainingModel model, PeftOptions options, string? baseModel = null)
    {
        var (config, pairs) = ToPeft(model, options, baseModel);
        PeftAdapterFiles.Save(directory, config, pairs);
    }
}
