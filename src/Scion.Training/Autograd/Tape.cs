using Scion.Tensors;

namespace Scion.Training.Autograd;

/// <summary>
/// Records differentiable ops in execution order and runs their backward functions in reverse.
/// Ops are instance methods (split over Tape.*.cs by op family) so a model reads as
/// <c>tape.RmsNorm(x, w, eps)</c>. An op records itself only while <see cref="IsRecording"/> is
/// on and one of its inputs requires a gradient; everything else is a plain forward.
/// </summary>
public sealed partial class Tape
{
    private List<Node> _nodes = [];

    public Tape(Xoshiro256? rng = null)
    {
        Rng = rng ?? new Xoshiro256(0);
    }

    /// <summary>Source of dropout masks. Checkpointed blocks replay it, so recomputed masks match.</summary>
    public Xoshiro256 Rng { get; }

    /// <summary>Threads for the tape's own products, attention and reductions (results do not depend on their number).</summary>
    public WorkerPool Pool { get; set; } = WorkerPool.Shared;

    /// <summary>Dropout is active only while training.</summary>
    public bool Training { get; set; } = true;

    /// <summary>Off inside <see cref="NoGrad"/> scopes and the first forward of a checkpointed block.</summary>
    public bool IsRecording { get; private set; } = true;

    /// <summary>Floats held alive by recorded ops (their outputs and saved buffers); falls as backward frees them.</summary>
    public long LiveFloats { get; private set; }

    /// <summary>Highest <see cref="LiveFloats"/> seen since construction or <see cref="ResetPeak"/>.</summary>
    public long PeakLiveFloats { get; private set; }

    /// <summary>Recorded ops not yet run backward.</summary>
    public int NodeCount => _nodes.Count;

    /// <summary>When false (default), an op's output gradient is dropped once its backward ran, halving peak memory.</summary>
    public bool KeepIntermediateGrads { get; set; }

    public void ResetPeak() => PeakLiveFloats = LiveFloats;

    /// <summary>Backward from a scalar loss with d(loss) = <paramref name="seed"/> (1 by default; 1/N for accumulation).</summary>
    public void Backward(Tensor loss, float seed = 1f)
    {
        if (loss.Length != 1)
            throw new ArgumentException($"Backward(loss) needs a scalar; {loss} has {loss.Length} values. Pass an output gradient instead.", nameof(loss));
        loss.EnsureGrad()[0] += seed;
        RunBackward(_nodes);
    }

    /// <summary>
    /// <see cref="Backward(Tensor, float)"/> one recorded op at a time: each MoveNext runs the next op's backward, so a
    /// caller can pause between ops (the serving engine interleaves training with inference steps this way). The
    /// ops run in the same order as <see cref="Backward(Tensor, float)"/>, so the gradients are bitwise the same.
    /// </summary>
    public IEnumerable<int> BackwardSteps(Tensor loss, float seed = 1f)
    {
        if (loss.Length != 1)
            throw new ArgumentException($"Backward(loss) needs a scalar; {loss} has {loss.Length} values. Pass an output gradient instead.", nameof(loss));
        return Steps();

        IEnumerable<int> Steps()
        {
            loss.EnsureGrad()[0] += seed;
            var nodes = _nodes;
            for (int i = nodes.Count - 1; i >= 0; i--)
            {
                BackwardNode(nodes, i);
                yield return i;
            }
            nodes.Clear();
        }
    }

    /// <summary>Backward from any recorded output with a given d(output). outputGrad [same shape as output].</summary>
    public void Backward(Tensor output, ReadOnlySpan<float> outputGrad)
    {
        if (outputGrad.Length != output.Length)
            throw new ArgumentException($"Output gradient has {outputGrad.Length} values; {output} has {output.Length}.", nameof(outputGrad));
        var g = output.EnsureGrad();
        for (int i = 0; i < g.Length; i++) g[i] += outputGrad[i];
        RunBackward(_nodes);
    }

    /// <summary>Forgets every recorded op without running backward (evaluation, or an aborted step).</summary>
    public void Clear()
    {
        foreach (var node in _nodes) LiveFloats -= node.Floats;
        _nodes.Clear();
    }

    /// <summary>Ops inside the scope run forward only and record nothing.</summary>
    public NoGradScope NoGrad()
    {
        var scope = new NoGradScope(this, IsRecording);
        IsRecording = false;
        return scope;
    }

    public readonly struct NoGradScope : IDisposable
    {
        private readonly Tape _tape;
        private readonly bool _previous;

        internal NoGradScope(Tape tape, bool previous)
        {
            _tape = tape;
            _previous = previous;
        }

        public void Dispose() => _tape.IsRecording = _previous;
    }

    private void RunBackward(List<Node> nodes)
    {
        for (int i = nodes.Count - 1; i >= 0; i--) BackwardNode(nodes, i);
        nodes.Clear();
    }

    private void BackwardNode(List<Node> nodes, int i)
    {
        var node = nodes[i];
        nodes[i] = default;
        // An output no later op used, or one off the loss path, has no gradient: nothing flows back.
        if (node.Output.Grad is not null)
        {
            node.Backward();
            if (!KeepIntermediateGrads) node.Output.Grad = null;
        }
        LiveFloats -= node.Floats;
    }

    internal bool ShouldRecord(Tensor a) => IsRecording && a.RequiresGrad;
    internal bool ShouldRecord(Tensor a, Tensor b) => IsRecording && (a.RequiresGrad || b.RequiresGrad);
    internal bool ShouldRecord(Tensor a, Tensor b, Tensor c) => IsRecording && (a.RequiresGrad || b.RequiresGrad || c.RequiresGrad);

    internal static Tensor NewTensor(params int[] shape) => Tensor.Zeros(shape);

    /// <summary>Registers a backward function; <paramref name="savedFloats"/> counts buffers it keeps beyond the output.</summary>
    internal void Record(Tensor output, long savedFloats, Action backward)
    {
        output.RequiresGrad = true;
        long floats = output.Length + savedFloats;
        _nodes.Add(new Node(output, backward, floats));
        LiveFloats += floats;
        if (LiveFloats > PeakLiveFloats) PeakLiveFloats = LiveFloats;
    }

    private readonly record struct Node(Tensor Output, Action Backward, long Floats);
}
