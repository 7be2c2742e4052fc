namespace Scion.Training.Autograd;

public sealed partial class Tape
{
    /// <summary>
    /// Gradient checkpointing: runs <paramref name="block"/> without recording, keeping only its
    /// input and output alive, and re-runs it with recording during backward. The replay restores
    /// the dropout RNG and shares the input's gradient buffer, so the gradients are bitwise those
    /// of the unchecheckpointed block. The block must be a pure function of its input, its
    /// captured parameters and <see cref="Rng"/>.
    /// </summary>
    public Tensor Checkpoint(Func<Tensor, Tensor> block, Tensor input)
    {
        if (!IsRecording) return block(input);

        var rngAtEntry = Rng.GetState();
        Tensor output;
        IsRecording = false;
        try
        {
            output = block(input);
        }
        finally
        {
            IsRecording = true;
        }
        if (ReferenceEquals(output, input)) return output;

        Record(output, 0, () =>
        {
            var rngNow = Rng.GetState();
            var outer = _nodes;
            _nodes = [];
            try
            {
                Rng.SetState(rngAtEntry);
                // The replay's input aliases the real input's values and gradient buffer: ops inside
                // accumulate into the same array in the same order as without checkpointing.
                var replayInput = new Tensor(input.Data, input.Shape) { RequiresGrad = input.RequiresGrad, Name = input.Name };
                if (input.RequiresGrad) replayInput.Grad = input.EnsureGrad();
                var replayOutput = block(replayInput);
                if (replayOutput.RequiresGrad && _nodes.Count > 0)
                {
                    replayOutput.Grad = output.Grad;
                    RunBackward(_nodes);
                }
                else
                {
                    Clear();
                }
            }
            finally
            {
                _nodes = outer;
                Rng.SetState(rngNow);
            }
        });
        return output;
    }
}
