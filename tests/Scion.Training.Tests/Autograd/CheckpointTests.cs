using Scion.Training.Autograd;

namespace Scion.Training.Tests.Autograd;

public class CheckpointTests
{
    private static (float[][] Grads, float Loss, long LiveAfterForward, long Peak) Run(bool checkpoint, float dropout)
    {
        var model = new TinyLlama(seed: 99);
        var tape = new Tape(new Xoshiro256(5));
        var loss = model.Loss(tape, checkpoint, dropout);
        long live = tape.LiveFloats;
        tape.Backward(loss);
        Assert.Equal(0, tape.NodeCount);
        Assert.Equal(0, tape.LiveFloats);
        return (model.Parameters.Select(p => p.Grad!).ToArray(), loss.Data[0], live, tape.PeakLiveFloats);
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(0.1f)]
    public void GradientsAreBitwiseIdenticalAndFewerFloatsStayLive(float dropout)
    {
        var plain = Run(checkpoint: false, dropout);
        var checkpointed = Run(checkpoint: true, dropout);
        Assert.Equal(BitConverter.SingleToInt32Bits(plain.Loss), BitConverter.SingleToInt32Bits(checkpointed.Loss));
        for (int i = 0; i < plain.Grads.Length; i++)
            Assert.Equal(
                plain.Grads[i].Select(BitConverter.SingleToInt32Bits),
                checkpointed.Grads[i].Select(BitConverter.SingleToInt32Bits));
        Assert.True(checkpointed.LiveAfterForward < plain.LiveAfterForward / 2,
            $"checkpointed forward keeps {checkpointed.LiveAfterForward} floats, plain {plain.LiveAfterForward}");
        Assert.True(checkpointed.Peak < plain.Peak, $"peaks: checkpointed {checkpointed.Peak}, plain {plain.Peak}");
    }

    [Fact]
    public void GradientFlowsIntoTheCheckpointInput()
    {
        var tape = new Tape();
        var x = Tensor.Parameter([1f, 2f, 3f], 1, 3);
        var w = Tensor.Parameter([0.5f, -1f, 2f], 1, 3);
        var y = tape.Checkpoint(h => tape.Mul(tape.Mul(h, w), h), x); // x² ⊙ w
        tape.Backward(y, [1f, 1f, 1f]);
        Assert.Equal([1f, -4f, 12f], x.Grad!);   // 2 x w
        Assert.Equal([1f, 4f, 9f], w.Grad!);     // x²
    }

    [Fact]
    public void NoGradRecordsNothing()
    {
        var tape = new Tape();
        var x = Tensor.Parameter([1f, 2f], 1, 2);
        using (tape.NoGrad())
        {
            var y = tape.Scale(x, 2f);
            Assert.False(y.RequiresGrad);
        }
        Assert.Equal(0, tape.NodeCount);
        Assert.True(tape.IsRecording);
        Assert.True(tape.Scale(x, 2f).RequiresGrad);
    }

    [Fact]
    public void ClearFreesRecordedFloats()
    {
        var tape = new Tape();
        var x = Tensor.Parameter(new float[10], 2, 5);
        tape.Add(x, x);
        Assert.Equal(10, tape.LiveFloats);
        tape.Clear();
        Assert.Equal(0, tape.LiveFloats);
        Assert.Equal(0, tape.NodeCount);
    }
}
