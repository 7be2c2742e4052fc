using Scion.Models.Formats;
using Scion.Models.Llama;
using Scion.Tensors;

namespace Scion.Models.Adapters;

/// <summary>
/// Turns PEFT adapter files into a <see cref="LoraAdapter"/> for one base model: checks every tensor against the base,
/// moves Q/K rows into the base's row order, and precomputes DoRA's per-row factors.
/// </summary>
public static class AdapterLoader
{
    public static LoraAdapter Load(string directory, LlamaModel model, string? name = null) =>
        FromPeft(PeftAdapterFiles.Load(directory), model, name ?? Path.GetFileName(Path.TrimEndingDirectorySeparator(directory)));

    public static LoraAdapter FromPeft(PeftAdapter peft, LlamaModel model, string name)
    {
        var c = model.Config;
        var adapter = new LoraAdapter(name, c.Layers);
        string file = Path.Combine(peft.Directory, PeftAdapterFiles.WeightsFileName);
        PeftAdapterChecks.CheckLayers(peft, c.Layers, model.Source.Path);
        foreach (var pair in peft.Pairs)
        {
            string tensor = $"base_model.model.{pair.ModulePath}";
            if (!TensorNames.PeftModules.TryGetValue(pair.Module, out var slot))
                throw new ModelFormatException($"{file}: '{tensor}' targets module '{pair.Module}', which this model does not have.");
            var w = model.Weights.Layers[pair.Layer].Linear(slot);
            if (pair.In != w.Cols)
                throw new ModelFormatException($"{file}: '{tensor}.lora_A.weight' has shape [{pair.Rank}, {pair.In}], but the base {pair.Module} takes {w.Cols} inputs; the adapter is for another base model.");
            if (pair.Out != w.Rows)
                throw new ModelFormatException($"{file}: '{tensor}.lora_B.weight' has shape [{pair.Out}, {pair.Rank}], but the base {pair.Module} has {w.Rows} outputs; the adapter is for another base model.");

            var b = pair.B;
            var magnitude = pair.Magnitude;
            // GGUF Llama weights keep Q/K rows in the interleaved rotary order; PEFT adapters are in HF order.
            if (c.RopeStyle == RopeStyle.Interleaved && slot is LinearSlot.Q or LinearSlot.K)
            {
                b = RotaryPermutation.ToGgufOrder<float>(b, pair.Rank, c.HeadDim);
                if (magnitude is not null) magnitude = RotaryPermutation.ToGgufOrder<float>(magnitude, 1, c.HeadDim);
            }
            float scale = peft.Config.ScaleFor(pair.ModulePath);
            adapter[pair.Layer, slot] = new LoraModule
            {
                Rank = pair.Rank, In = pair.In, Out = pair.Out, A = pair.A, B = b, Scale = scale,
                DoraFactor = magnitude is null ? null : DoraFactors(w, pair.A, b, pair.Rank, scale, magnitude),
            };
        }
        return adapter;
    }

    /// <summary>magnitude[o] / ‖W[o,:] + scale·B[o,:]·A‖ for every output row (DoRA's weight-norm rescaling).</summary>
    public static float[] DoraFactors(in WeightMatrix w, float[] a, float[] b, int rank, float scale, float[] magnitude)
    {
        var row = new float[w.Cols];
        var factors = new float[w.Rows];
        for (int o = 0; o < w.Rows; o++)
        {
            Dequantize.Row(w.Type, w.RowSpan(o), row);
            for (int j = 0; j < rank; j++)
                Ops.Axpy(scale * b[o * rank + j], a.AsSpan(j * w.Cols, w.Cols), row);
            double norm = 0;
            foreach (var v in row) norm += (double)v * v;
            factors[o] = (float)(magnitude[o] / Math.Sqrt(norm));
        }
        return factors;
    }
}
