namespace Scion.Training.Autograd;

public sealed partial class Tape
{
    /// <summary>a + b (residual connections). a, b [same shape] → [same shape].</summary>
    public Tensor Add(Tensor a, Tensor b)
    {
        SameShape(a, b, nameof(Add));
        var y = new Tensor(new float[a.Length], a.Shape);
        float[] ad = a.Data, bd = b.Data, yd = y.Data;
        for (int i = 0; i < yd.Length; i++) yd[i] = ad[i] + bd[i];
        if (ShouldRecord(a, b))
            Record(y, 0, () =>
            {
                var g = y.Grad!;
                if (a.RequiresGrad) AddInto(a.EnsureGrad(), g);
                if (b.RequiresGrad) AddInto(b.EnsureGrad(), g);
            });
        return y;
    }

    /// <summary>a ⊙ b. a, b [same shape] → [same shape].</summary>
    public Tensor Mul(Tensor a, Tensor b)
    {
        SameShape(a, b, nameof(Mul));
        var y = new Tensor(new float[a.Length], a.Shape);
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
        var y = new Tensor(new float[x.Length], x.Shape);
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
        var y = new Tensor(new float[gate.Length], gate.Shape);
        float[] gd = gate.Data, ud = up.Data, yd = y.Data;
        for (int i = 0; i < yd.Length; i++) yd[i] = Silu(gd[i]) * ud[i];
        if (ShouldRecord(gate, up))
            Record(y, 0, () =>
            {
                var g = y.Grad!;
                float[]? gGate = gate.RequiresGrad ? gate.EnsureGrad() : null;
                float[]? gUp = up.RequiresGrad ? up.EnsureGrad() : null;
                for (int i = 0; i < g.Length; i++)
                {
                    float x = gd[i];
                    float sig = Sigmoid(x);
                    if (gUp is not null) gUp[i] += g[i] * x * sig;
                    // d silu/dx = σ + x·σ·(1 − σ)
                    if (gGate is not null) gGate[i] += g[i] * ud[i] * (sig + x * sig * (1f - sig));
                }
            });
        return y;
    }

    internal static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    internal static float Silu(float x) => x * Sigmoid(x);

    internal static void AddInto(float[] dst, float[] src)
    {
        for (int i = 0; i < dst.Length; i++) dst[i] += src[i];
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
