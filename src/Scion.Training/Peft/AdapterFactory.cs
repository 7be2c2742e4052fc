using Scion.Models.Adapters;
using Scion.Models.Llama;
using Scion.Training.Autograd;
using Scion.Training.Model;

namespace Scion.Training.Peft;

/// <summary>Creates freshly initialised adapters (LoRA, PiSSA, DoRA) on a <see cref="TrainingModel"/>, or loads saved PEFT ones.</summary>
public static class AdapterFactory
{
    /// <summary>
    /// Adds one adapter per targeted (layer, module), in layer-then-projection order, drawing every random
    /// number from one generator seeded with <paramref name="seed"/>, so the same options give bit-identical adapters.
    /// </summary>
    public static void Initialize(TrainingModel model, PeftOptions options, ulong seed)
    {
        options.Validate();
        var c = model.Config;
        if (options.Layers is { } layers)
            foreach (int l in layers)
                if (l < 0 || l >= c.Layers) throw new ArgumentException($"Layer {l} to transform is outside the model's [0, {c.Layers}).");
        var rng = new Xoshiro256(seed);
        float scale = options.Scale;
        int count = 0;
        for (int l = 0; l < c.Layers; l++)
            foreach (var module in LoraModules.All)
            {
                if (!options.TargetsModule(l, module)) continue;
                var slot = TrainingModel.SlotOf(module);
                var w = model.Linear(l, slot);
                int r = options.Rank;
                if (r > Math.Min(w.Rows, w.Cols))
                    throw new ArgumentException($"Rank {r} exceeds the size of layer {l} {module} [{w.Rows}, {w.Cols}].");
                var a = new float[r * w.Cols];
                var b = new float[w.Rows * r];
                float[]? magnitude = null;
                IFrozenWeight baseWeight = w;
                float[]? a0 = null, b0 = null;
                switch (options.Method)
                {
                    case PeftMethod.Lora:
                    case PeftMethod.Dora:
                        Init.KaimingUniformLoraA(rng, a, w.Cols);
                        if (options.Method == PeftMethod.Dora)
                        {
                            magnitude = new float[w.Rows];
                            Tape.DoraWeightNorms(w, a, b, r, scale, magnitude); // B = 0: ‖W‖ per row
                        }
                        break;
                    case PeftMethod.Pissa:
                        baseWeight = PissaInit(w, a, b, r, scale, options.PissaIterations, rng.NextUInt64(), model.Embedding);
                        a0 = (float[])a.Clone();
                        b0 = (float[])b.Clone();
                        break;
                }
                model.SetAdapter(new AdapterModule
                {
                    Layer = l, Slot = slot, Module = module, Scale = scale, Dropout = options.Dropout, Base = baseWeight,
                    A = Tensor.Parameter(a, r, w.Cols).Named($"layers.{l}.{module}.lora_A"),
                    B = Tensor.Parameter(b, w.Rows, r).Named($"layers.{l}.{module}.lora_B"),
                    Magnitude = magnitude is null ? null : Tensor.Parameter(magnitude, w.Rows).Named($"layers.{l}.{module}.magnitude"),
                    InitialA = a0, InitialB = b0,
                });
                count++;
            }
        if (count == 0) throw new ArgumentException("The target modules and layers select no projection of this model.");
    }

    /// <summary>
    /// PEFT's PiSSA init: W = U S Vᵀ (top r); A = diag(√(S/scale)) Vᵀ, B = U diag(√(S/scale)), so scale·B A is the
    /// principal part and the frozen base becomes the fp32 residual W − scale·B A.
    /// </summary>
    private static FrozenMatrix PissaInit(IFrozenWeight w, float[] a, float[] b, int r, float scale, int iterations, ulong seed, FrozenMatrix poolSource)
    {
        int m = w.Rows, n = w.Cols;
        var dense = new float[(long)m * n];
        for (int o = 0; o < m; o++) w.DequantizeRow(o, dense.AsSpan(o * n, n));
        var svd = RandomizedSvd.Compute(dense, m, n, r, iterations, seed);
        for (int k = 0; k < r; k++)
        {
            double root = Math.Sqrt(svd.S[k] / scale);
            for (int c = 0; c < n; c++) a[k * n + c] = (float)(root * svd.V[(long)c * r + k]);
            for (int o = 0; o < m; o++) b[o * r + k] = (float)(svd.U[(long)o * r + k] * root);
        }
        // Residual from the fp32 A and B actually used, so residual + scale·B A reproduces W to fp32 rounding.
        for (int o = 0; o < m; o++)
            for (int c = 0; c < n; c++)
            {
                double s = 0;
                for (int k = 0; k < r; k++) s += (double)b[o * r + k] * a[k * n + c];
                dense[(long)o * n + c] = (float)(dense[(long)o * n + c] - scale * s);
            }
        return FrozenMatrix.FromFloats(dense, m, n, poolSource.Pool, poolSource.Mode);
    }

    /// <summary>Installs a saved PEFT adapter (LoRA or DoRA) for evaluation or further training; q/k B rows move to the base's order.</summary>
    public static void Load(TrainingModel model, PeftAdapter peft, bool trainable = false)
    {
        var c = model.Config;
        PeftAdapterChecks.CheckLayers(peft, c.Layers, model.Base.Source.Path);
        foreach (var pair in peft.Pairs)
        {
            var slot = TrainingModel.SlotOf(pair.Module);
            var w = model.Linear(pair.Layer, slot);
            if (pair.In != w.Cols || pair.Out != w.Rows)
                throw new ArgumentException($"Adapter pair {pair.ModulePath} is [{pair.Out}, {pair.In}], the model's projection is [{w.Rows}, {w.Cols}].");
            var b = (float[])pair.B.Clone();
            var mag = pair.Magnitude is null ? null : (float[])pair.Magnitude.Clone();
            if (RowsPermuted(model, pair.Module))
            {
                b = Models.Formats.RotaryPermutation.ToGgufOrder<float>(b, pair.Rank, c.HeadDim);
                if (mag is not null) mag = Models.Formats.RotaryPermutation.ToGgufOrder<float>(mag, 1, c.HeadDim);
            }
            model.SetAdapter(new AdapterModule
            {
                Layer = pair.Layer, Slot = slot, Module = pair.Module, Scale = peft.Config.ScaleFor(pair.ModulePath), Base = w,
                A = new Tensor((float[])pair.A.Clone(), pair.Rank, pair.In) { RequiresGrad = trainable },
                B = new Tensor(b, pair.Out, pair.Rank) { RequiresGrad = trainable },
                Magnitude = mag is null ? null : new Tensor(mag, pair.Out) { RequiresGrad = trainable },
            });
        }
    }

    /// <summary>Whether this module's output rows are in GGUF rotary order in the base (q/k of an interleaved-RoPE model).</summary>
    public static bool RowsPermuted(TrainingModel model, string module) =>
        model.Config.RopeStyle == Models.Llama.RopeStyle.Interleaved && LoraModules.IsRotary(module);

    private static Tensor Named(this Tensor t, string name)
    {
        t.Name = name;
        return t;
    }
}
