using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Scion.Training.Autograd;

namespace Scion.Training.Optim;

/// <summary>
/// AdamW (Loshchilov, Hutter) as torch.optim.AdamW computes it: decoupled weight decay, then
/// m ← β1 m + (1−β1) g, v ← β2 v + (1−β2) g², p ← p − (lr / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + ε).
/// Parameters without a gradient are skipped (their step count still advances, as in PyTorch
/// where the step is global for LoRA's always-present grads).
/// </summary>
public sealed class AdamW
{
    private static ReadOnlySpan<byte> Magic => "SCADAMW1"u8;

    private readonly Tensor[] _parameters;
    private readonly float[][] _m; // per parameter, [Length]
    private readonly float[][] _v; // per parameter, [Length]

    public AdamW(IEnumerable<Tensor> parameters, AdamWOptions? options = null)
    {
        _parameters = parameters.ToArray();
        Options = options ?? new AdamWOptions();
        _m = _parameters.Select(p => new float[p.Length]).ToArray();
        _v = _parameters.Select(p => new float[p.Length]).ToArray();
    }

    public AdamWOptions Options { get; }

    /// <summary>Threads for the update (element-wise, so the result does not depend on their number).</summary>
    public Scion.Tensors.WorkerPool Pool { get; set; } = Scion.Tensors.WorkerPool.Shared;

    public IReadOnlyList<Tensor> Parameters => _parameters;

    /// <summary>Optimizer steps taken so far (t in the bias corrections).</summary>
    public long StepCount { get; private set; }

    /// <summary>First moment of parameter i. [Length]</summary>
    public ReadOnlySpan<float> FirstMoment(int i) => _m[i];

    /// <summary>Second moment of parameter i. [Length]</summary>
    public ReadOnlySpan<float> SecondMoment(int i) => _v[i];

    /// <summary>One update with learning rate <paramref name="lr"/> from the current gradients.</summary>
    public void Step(float lr)
    {
        StepCount++;
        float b1 = Options.Beta1, b2 = Options.Beta2, eps = Options.Epsilon;
        double bc1 = 1 - Math.Pow(b1, StepCount), bc2 = 1 - Math.Pow(b2, StepCount);
        float stepSize = (float)(lr / bc1);
        float bc2Sqrt = (float)Math.Sqrt(bc2);
        float decay = 1f - lr * Options.WeightDecay;
        var job = new UpdateJob
        {
            Parameters = _parameters, M = _m, V = _v, B1 = b1, B2 = b2, Eps = eps, StepSize = stepSize, Bc2Sqrt = bc2Sqrt, Decay = decay,
        };
        Pool.Run(_parameters.Length, ref job);
    }

    private struct UpdateJob : Scion.Tensors.IParallelJob
    {
        public Tensor[] Parameters;
        public float[][] M, V;
        public float B1, B2, Eps, StepSize, Bc2Sqrt, Decay;

        public readonly void Execute(int i)
        {
            var g = Parameters[i].Grad;
            if (g is null) return;
            float[] p = Parameters[i].Data, m = M[i], v = V[i];
            float b1 = B1, b2 = B2, eps = Eps, stepSize = StepSize, bc2Sqrt = Bc2Sqrt, decay = Decay;
            for (int j = 0; j < p.Length; j++)
            {
                if (decay != 1f) p[j] *= decay;
                m[j] = b1 * m[j] + (1f - b1) * g[j];
                v[j] = b2 * v[j] + (1f - b2) * g[j] * g[j];
                p[j] -= stepSize * m[j] / (MathF.Sqrt(v[j]) / bc2Sqrt + eps);
            }
        }
    }

    /// <summary>Clears every parameter's gradient (keeps the buffers).</summary>
    public void ZeroGrad()
    {
        foreach (var p in _parameters) p.ZeroGrad();
    }

    /// <summary>Writes the step count and moments so a resumed run continues bit for bit.</summary>
    public void SaveState(Stream stream)
    {
        Span<byte> header = stackalloc byte[20];
        Magic.CopyTo(header);
        BinaryPrimitives.WriteInt64LittleEndian(header[8..], StepCount);
        BinaryPrimitives.WriteInt32LittleEndian(header[16..], _parameters.Length);
        stream.Write(header);
        Span<byte> len = stackalloc byte[4];
        for (int i = 0; i < _parameters.Length; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(len, _parameters[i].Length);
            stream.Write(len);
            WriteFloats(stream, _m[i]);
            WriteFloats(stream, _v[i]);
        }
    }

    /// <summary>Restores a state written by <see cref="SaveState"/> for the same parameter list.</summary>
    public void LoadState(Stream stream)
    {
        Span<byte> header = stackalloc byte[20];
        ReadExactly(stream, header, "header");
        if (!header[..8].SequenceEqual(Magic))
            throw new InvalidDataException("AdamW state: missing 'SCADAMW1' header; not an optimizer state file.");
        long step = BinaryPrimitives.ReadInt64LittleEndian(header[8..]);
        int count = BinaryPrimitives.ReadInt32LittleEndian(header[16..]);
        if (step < 0) throw new InvalidDataException($"AdamW state: negative step count {step}.");
        if (count != _parameters.Length)
            throw new InvalidDataException($"AdamW state: holds {count} parameters, the optimizer has {_parameters.Length}.");
        var m = new float[count][];
        var v = new float[count][];
        Span<byte> len = stackalloc byte[4];
        for (int i = 0; i < count; i++)
        {
            ReadExactly(stream, len, $"parameter {i} length");
            int n = BinaryPrimitives.ReadInt32LittleEndian(len);
            if (n != _parameters[i].Length)
                throw new InvalidDataException($"AdamW state: parameter {i} ({_parameters[i]}) has {n} values in the file, {_parameters[i].Length} in the model.");
            m[i] = new float[n];
            v[i] = new float[n];
            ReadExactly(stream, MemoryMarshal.AsBytes(m[i].AsSpan()), $"parameter {i} first moment");
            ReadExactly(stream, MemoryMarshal.AsBytes(v[i].AsSpan()), $"parameter {i} second moment");
            if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("AdamW state files are little-endian.");
        }
        StepCount = step;
        for (int i = 0; i < count; i++)
        {
            m[i].CopyTo(_m[i], 0);
            v[i].CopyTo(_v[i], 0);
        }
    }

    private static void WriteFloats(Stream stream, float[] values)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("AdamW state files are little-endian.");
        stream.Write(MemoryMarshal.AsBytes(values.AsSpan()));
    }

    private static void ReadExactly(Stream stream, Span<byte> buffer, string what)
    {
        try
        {
            stream.ReadExactly(buffer);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"AdamW state: file ends inside the {what}.", e);
        }
    }
}
