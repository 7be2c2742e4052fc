using Scion.Models.Adapters;
using Scion.Models.Llama;
using Scion.Tensors;
using Scion.Training.Autograd;
using AutogradRope = Scion.Training.Autograd.RopeStyle;

namespace Scion.Training.Model;

/// <summary>
/// The Llama forward pass on a <see cref="Tape"/>, over the frozen (possibly quantized, memory-mapped) weights of a
/// loaded <see cref="LlamaModel"/>, with trainable adapters on chosen projections. Same computation as
/// <see cref="LlamaModel.Forward"/>: same weights, same RoPE frequencies and pairing, same norms; it differs only
/// where inference rounds K, V and attention probabilities to f16 (llama.cpp parity), so logits agree to about 1e-3
/// relative (tested with 1e-2). Sequences are packed: token t attends only within its own sequence id.
/// </summary>
public sealed class TrainingModel
{
    private readonly IFrozenWeight[,] _linears; // [layers, 7]
    private readonly AdapterModule?[,] _adapters; // [layers, 7]
    private readonly Tensor[] _attnNorms, _ffnNorms; // [D] each, frozen
    private readonly Tensor _outputNorm;
    private readonly double[] _invFreq;
    private WorkerPool _pool;

    public TrainingModel(LlamaModel model, FrozenForward mode = FrozenForward.Kernels)
    {
        Base = model;
        var c = Config = model.Config;
        var pool = _pool = model.Pool;
        var w = model.Weights;
        Embedding = new FrozenMatrix(w.TokenEmbedding, pool, mode);
        Output = new FrozenMatrix(w.Output, pool, mode);
        _linears = new IFrozenWeight[c.Layers, 7];
        _adapters = new AdapterModule?[c.Layers, 7];
        _attnNorms = new Tensor[c.Layers];
        _ffnNorms = new Tensor[c.Layers];
        for (int l = 0; l < c.Layers; l++)
        {
            foreach (var slot in Enum.GetValues<LinearSlot>())
                _linears[l, (int)slot] = new FrozenMatrix(w.Layers[l].Linear(slot), pool, mode);
            _attnNorms[l] = new Tensor(w.Layers[l].AttnNorm, c.Dim);
            _ffnNorms[l] = new Tensor(w.Layers[l].FfnNorm, c.Dim);
        }
        _outputNorm = new Tensor(w.OutputNorm, c.Dim);
        _invFreq = model.Rope.InverseFrequencies.ToArray();
    }

    public LlamaModel Base { get; }
    public LlamaConfig Config { get; }
    public FrozenMatrix Embedding { get; }
    public FrozenMatrix Output { get; }

    /// <summary>Recompute each transformer block in backward instead of keeping its activations.</summary>
    public bool Checkpointing { get; set; }

    /// <summary>Threads for everything a step does: the frozen products and the tape's own ops (<see cref="Tape.Pool"/>).</summary>
    public WorkerPool Pool
    {
        get => _pool;
        set
        {
            _pool = value;
            Embedding.Pool = value;
            Output.Pool = value;
            foreach (var w in _linears) if (w is FrozenMatrix f) f.Pool = value;
        }
    }

    /// <summary>The frozen base weight of a projection (the model's, until PiSSA replaces it with its residual).</summary>
    public IFrozenWeight Linear(int layer, LinearSlot slot) => _linears[layer, (int)slot];

    public AdapterModule? Adapter(int layer, LinearSlot slot) => _adapters[layer, (int)slot];

    public IEnumerable<AdapterModule> Adapters()
    {
        for (int l = 0; l < Config.Layers; l++)
            for (int s = 0; s < 7; s++)
                if (_adapters[l, s] is { } m) yield return m;
    }

    /// <summary>All trainable tensors, in a fixed order (layer, projection, then A, B, magnitude): optimizer and checkpoints rely on it.</summary>
    public IReadOnlyList<Tensor> Parameters() => Adapters().SelectMany(m => m.Parameters()).ToArray();

    /// <summary>Installs an adapter; its Base becomes the projection's frozen weight from now on.</summary>
    public void SetAdapter(AdapterModule module)
    {
        var w = Linear(module.Layer, module.Slot);
        if (module.In != w.Cols || module.Out != w.Rows || module.Base.Rows != w.Rows || module.Base.Cols != w.Cols)
            throw new ArgumentException($"Adapter for layer {module.Layer} {module.Module} is [{module.Out}, {module.In}], the projection is [{w.Rows}, {w.Cols}].");
        _adapters[module.Layer, (int)module.Slot] = module;
        _linears[module.Layer, (int)module.Slot] = module.Base;
    }

    public void ClearAdapters()
    {
        Array.Clear(_adapters);
        var w = Base.Weights;
        var pool = _pool;
        for (int l = 0; l < Config.Layers; l++)
            foreach (var slot in Enum.GetValues<LinearSlot>())
                _linears[l, (int)slot] = new FrozenMatrix(w.Layers[l].Linear(slot), pool, Embedding.Mode);
    }

    /// <summary>Logits for every token. ids, positions, seqIds [T] → [T, V].</summary>
    public Tensor Forward(Tape tape, int[] ids, int[] positions, int[] seqIds) =>
        tape.LinearFrozen(Hidden(tape, ids, positions, seqIds), Output); // [T, V]

    /// <summary>The final-norm hidden states, the output head's input. ids, positions, seqIds [T] → [T, D].</summary>
    public Tensor Hidden(Tape tape, int[] ids, int[] positions, int[] seqIds)
    {
        Tensor? h = null;
        foreach (var t in HiddenSteps(tape, ids, positions, seqIds)) h = t;
        return h!;
    }

    /// <summary><see cref="Hidden"/> one transformer block at a time: null after each block, then the hidden states.</summary>
    public IEnumerable<Tensor?> HiddenSteps(Tape tape, int[] ids, int[] positions, int[] seqIds)
    {
        Check(ids, positions, seqIds);
        return Steps();

        IEnumerable<Tensor?> Steps()
        {
            var c = Config;
            var x = tape.Embedding(ids, Embedding); // [T, D]
            for (int l = 0; l < c.Layers; l++)
            {
                int layer = l;
                x = Checkpointing ? tape.Checkpoint(input => Block(tape, layer, input, positions, seqIds), x) : Block(tape, l, x, positions, seqIds);
                yield return null;
            }
            yield return tape.RmsNorm(x, _outputNorm, c.RmsEps);
        }
    }

    private void Check(int[] ids, int[] positions, int[] seqIds)
    {
        var c = Config;
        if (positions.Length != ids.Length || seqIds.Length != ids.Length)
            throw new ArgumentException($"Forward: {ids.Length} ids, {positions.Length} positions and {seqIds.Length} sequence ids must agree.");
        if (c.SlidingWindow > 0)
        {
            // Within the window, sliding-window attention is plain causal attention; beyond it the tape has no op yet.
            foreach (int p in positions)
                if (p >= c.SlidingWindow)
                    throw new NotSupportedException($"Position {p} lies beyond the model's sliding attention window ({c.SlidingWindow}); train with --seq-len {c.SlidingWindow} or less.");
        }
    }

    /// <summary>
    /// Mean cross-entropy of the next-token targets (<see cref="Tape.IgnoreIndex"/> rows skipped) without forming
    /// [T, V] logits for ignored rows or a separate [T, V] gradient: the output head and the loss are one op
    /// (<see cref="Tape.LinearCrossEntropy"/>). ids, positions, seqIds, targets [T] → [1].
    /// </summary>
    public Tensor Loss(Tape tape, int[] ids, int[] positions, int[] seqIds, int[] targets)
    {
        Tensor? loss = null;
        foreach (var t in LossSteps(tape, ids, positions, seqIds, targets)) loss = t;
        return loss!;
    }

    /// <summary><see cref="Loss"/> one transformer block at a time: null after each block, then the loss [1] (so the
    /// serving engine can pause a training forward between blocks; the ops and their order are those of Loss).</summary>
    public IEnumerable<Tensor?> LossSteps(Tape tape, int[] ids, int[] positions, int[] seqIds, int[] targets)
    {
        foreach (var h in HiddenSteps(tape, ids, positions, seqIds))
        {
            if (h is null) yield return null;
            else yield return tape.LinearCrossEntropy(h, Output, targets);
        }
    }

    private Tensor Block(Tape tape, int l, Tensor x, int[] positions, int[] seqIds)
    {
        var c = Config;
        var lw = Base.Weights.Layers[l];
        var h = tape.RmsNorm(x, _attnNorms[l], c.RmsEps);       // [T, D]
        var q = Project(tape, l, LinearSlot.Q, h, lw.QBias);       // [T, H·Dh]
        var k = Project(tape, l, LinearSlot.K, h, lw.KBias);       // [T, Hkv·Dh]
        var v = Project(tape, l, LinearSlot.V, h, lw.VBias);       // [T, Hkv·Dh]
        var style = c.RopeStyle == Models.Llama.RopeStyle.Interleaved ? AutogradRope.Interleaved : AutogradRope.HalfSplit;
        double posScale = Base.Rope.PositionScale;
        q = tape.RopeExact(q, positions, c.HeadDim, _invFreq, posScale, style);
        k = tape.RopeExact(k, positions, c.HeadDim, _invFreq, posScale, style);
        var a = tape.CausalAttention(q, k, v, seqIds, c.Heads, c.KvHeads); // [T, H·Dh]
        x = tape.Add(x, Project(tape, l, LinearSlot.O, a, null));
        h = tape.RmsNorm(x, _ffnNorms[l], c.RmsEps);
        var gate = Project(tape, l, LinearSlot.Gate, h, null);     // [T, F]
        var up = Project(tape, l, LinearSlot.Up, h, null);         // [T, F]
        var down = Project(tape, l, LinearSlot.Down, tape.SwiGlu(gate, up), null); // [T, D]
        return tape.Add(x, down);
    }

    private Tensor Project(Tape tape, int layer, LinearSlot slot, Tensor x, float[]? bias)
    {
        var y = _adapters[layer, (int)slot] is { } m ? m.Apply(tape, x) : tape.LinearFrozen(x, _linears[layer, (int)slot]);
        // The bias comes after the adapter, as inference (and PEFT's DoRA) apply it.
        return bias is null ? y : tape.AddBias(y, bias);
    }

    /// <summary>The PEFT module name of a slot.</summary>
    public static string ModuleName(LinearSlot slot) => LoraModules.All[(int)slot];

    public static LinearSlot SlotOf(string module) => TensorNames.PeftModules[module];
}
