using Scion.Training.Autograd;

namespace Scion.Training.Optim;

/// <summary>torch.nn.utils.clip_grad_norm_ over all parameters together.</summary>
public static class GradientClipping
{
    /// <summary>L2 norm of all gradients as one vector (double accumulation); parameters without a gradient count as zero.</summary>
    public static double GlobalNorm(IEnumerable<Tensor> parameters)
    {
        double sum = 0;
        foreach (var p in parameters)
            if (p.Grad is { } g)
                foreach (var x in g) sum += (double)x * x;
        return Math.Sqrt(sum);
    }

    /// <summary>
    /// Scales every gradient by min(1, maxNorm / (norm + 1e-6)) and returns the norm before clipping
    /// (what training logs report as grad_norm).
    /// </summary>
    public static double ClipGlobalNorm(IEnumerable<Tensor> parameters, double maxNorm)
    {
        var list = parameters as IReadOnlyCollection<Tensor> ?? parameters.ToArray();
        double norm = GlobalNorm(list);
        double coefficient = maxNorm / (norm + 1e-6);
        if (coefficient < 1)
        {
            float c = (float)coefficient;
            foreach (var p in list)
                if (p.Grad is { } g)
                    for (int i = 0; i < g.Length; i++) g[i] *= c;
        }
        return norm;
    }
}
