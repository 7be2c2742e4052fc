using System.Runtime.Intrinsics;

namespace Scion.Training.Autograd;

public sealed partial class Tape
{
    /// <summary>a + b (residual connections). a, b [same shape] → [same shape].</summary>
    public Tensor Add(Tensor a, Tensor b)
    {
        SameShape(a, b, nameof(Add));
        var y = new Tensor(Tensor.ZeroedArray(a.Length), a.Shape);
        var sum = new AddJob { A = a.Data, B = b.Data, Y = y.Data };
        RunChunks(ref sum, y.Length);
        if (ShouldRecord(a, b))
            Record(y, 0, () =>
            {
                var g = y.Grad!;
                if (a.RequiresGrad) AddInto(a.EnsureGrad(), g);
                if (b.RequiresGrad) AddInto(b.EnsureGrad(), g);
            });
        return y;
    }

    /// <summary>Y = A + B, or A += B when Y is null; element by element, so any split and vector width give the same bits.</summary>
    private struct AddJob : IChunkJob
    {
        public float[] A, B;
        public float[]? Y;

        public readonly void Execute(int chunk)
        {
            int i0 = chunk * ElementChunk, n = Math.Min(A.Length - i0, ElementChunk);
            var a = A.AsSpan(i0, n);
            var b = B.AsSpan(i0, n);
            var y = Y is null ? a : Y.AsSpan(i0, n);
            int i = 0;
            if (Vector512.IsHardwareAccelerated)
                for (; i + 16 <= n; i += 16) (Vector512.Create(a[i..]) + Vector512.Create(b[i..])).CopyTo(y[i..]);
            for (; i + 8 <= n; i += 8) (Vector256.Create(a[i..]) + Vector256.Create(b[i..])).CopyTo(y[i..]);
            for (; i < n; i++) y[i] = a[i] + b[i];
        }
    }

    /// <summary>a ⊙ b. a, b [same shape] → [same shape].</summary>
    public Tensor Mul(Tensor a, Tensor b)
    {
        SameShape(a, b, nameof(Mul));
        var y = new Tensor(Tensor.ZeroedArray(a.Length), a.Shape);
        float[] ad = a.Data, bd = b.Data, yd = y.Data;
        for (int i = 0; i < yd.Length; i++) yd[i] = ad[i] * bd[i];
        if (ShouldRecord(a, b))
            Record(y, 0, () =>
            {
                var g = y.Grad!;
                if (a.RequiresGrad)
                {
                    var ga = a.EnsureGrad();
                    for (int i = 0; i < g.Length; i++) ga[i] += g[i] * bd[i];
                }
                if (b.RequiresGrad)
                {
                    var gb = b.EnsureGrad();
                    for (int i = 0; i < g.Length; i++) gb[i] += g[i] * ad[i];
                }
            });
        return y;
    }

    /// <summary>s·x. x [any] → [same shape].</summary>
    public Tensor Scale(Tensor x, float s)
    {
        var y = new Tensor(Tensor.ZeroedArray(x.Length), x.Shape);
        float[] xd = x.Data, yd = y.Data;
        for (int i = 0; i < yd.Length; i++) yd[i] = xd[i] * s;
        if (ShouldRecord(x))
            Record(y, 0, () =>
            {
                var g = y.Grad!;
                var gx = x.EnsureGrad();
                for (int i = 0; i < g.Length; i++) gx[i] += g[i] * s;
            });
        return y;
    }

    /// <summary>SwiGLU: silu(gate) ⊙ up with silu(g) = g·σ(g). gate, up [T, F] → [T, F].</summary>
    public Tensor SwiGlu(Tensor gate, Tensor up)
    {
        SameShape(gate, up, nameof(SwiGlu));
        var y = new Tensor(Tensor.ZeroedArray(gate.Length), gate.Shape);
        var forward = new SwiGluJob { Gate = gate.Data, Up = up.Data, Y = y.Data };
        RunChunks(ref forward, y.Length);
        if (ShouldRecord(gate, up))
            Record(y, 0, () =>
            {
                var backward = new SwiGluJob
                {
                    Gate = gate.Data, Up = up.Data, Dy = y.Grad!,
                    DGate = gate.RequiresGrad ? gate.EnsureGrad() : null, DUp = up.RequiresGrad ? up.EnsureGrad() : null,
                };
                RunChunks(ref backward, y.Length);
            });
        return y;
    }

    // Element-wise jobs run in chunks of this many values: each element is computed alone, so any split gives the same bits.
    private const int ElementChunk = 1 << 14;

    private void RunChunks<T>(ref T job, int length) where T : struct, IChunkJob
    {
        int chunks = (length + ElementChunk - 1) / ElementChunk;
        if (chunks <= 1) job.Execute(0);
        else Pool.Run(chunks, ref job);
    }

    private interface IChunkJob : Scion.Tensors.IParallelJob;

    // Rows per item of the row-wise ops: each row is computed alone, in the same order, so any split gives the same bits.
    private const int RowChunk = 16;

    private void RunRows<T>(ref T job, int rows, int cols) where T : struct, Scion.Tensors.IParallelJob
    {
        int chunks = (rows + RowChunk - 1) / RowChunk;
        if (chunks <= 1 || (long)rows * cols < ElementChunk) for (int c = 0; c < chunks; c++) job.Execute(c);
        else Pool.Run(chunks, ref job);
    }

    private struct SwiGluJob : IChunkJob
    {
        public float[] Gate, Up;           // [n]
        public float[]? Y, Dy, DGate, DUp; // forward: Y; backward: Dy in, DGate / DUp accumulated

        public readonly void Execute(int chunk)
        {
            int i0 = chunk * ElementChunk, i1 = Math.Min(Gate.Length, i0 + ElementChunk);
            if (Y is not null)
            {
                for (int i = i0; i < i1; i++) Y[i] = Silu(Gate[i]) * Up[i];
                return;
            }
            var g = Dy!;
            for (int i = i0; i < i1; i++)
            {
                float x = Gate[i];
                float sig = Sigmoid(x);
                if (DUp is not null) DUp[i] += g[i] * x * sig;
                // d silu/dx = σ + x·σ·(1 − σ)
                if (DGate is not null) DGate[i] += g[i] * Up[i] * (sig + x * sig * (1f - sig));
            }
        }
    }

    internal static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    internal static float Silu(float x) => x * Sigmoid(x);

    /// <summary>dst += src (gradient accumulation), vectorized and on the pool for long arrays.</summary>
    internal void AddInto(float[] dst, float[] src)
    {
        if (src.Length != dst.Length) throw new ArgumentException($"AddInto: {src.Length} values into {dst.Length}.");
        var job = new AddJob { A = dst, B = src };
        RunChunks(ref job, dst.Length);
    }

    internal static void SameShape(Tensor a, Tensor b, string op)
    {
        if (!a.Shape.AsSpan().SequenceEqual(b.Shape))
            throw new ArgumentException($"{op}: shapes differ, {a} vs {b}.");
    }

    internal static void Expect2D(Tensor t, int cols, string op, string what)
    {
        if (t.Shape.Length != 2 || t.Shape[1] != cols)
            throw new ArgumentException($"{op}: {what} must be [rows, {cols}], found {t}.");
    }
}
