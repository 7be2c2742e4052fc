namespace Scion.Tensors.Reference;

/// <summary>
/// Scalar twins of the LoRA shrink and expand: plain fp32 loops, products and sums rounded separately (no fused
/// multiply-add), dots summed left to right. What they leave out: vectors, tiling, and the SIMD variants' exact
/// summation order, so they agree with those to rounding, not bit for bit.
/// </summary>
internal static unsafe class ReferenceLowRank
{
    /// <summary>ax[i, j] = scale · Σ_c A[j, c]·x[rows[i], c] for i in [start, end).</summary>
    public static void Shrink(float* x, int inDim, int* rows, int start, int end, float* a, int rank, float scale, float* ax)
    {
        for (int i = start; i < end; i++)
        {
            float* xr = x + (long)rows[i] * inDim;
            for (int j = 0; j < rank; j++)
            {
                float* ar = a + (long)j * inDim;
                float s = 0;
                for (int c = 0; c < inDim; c++) s += ar[c] * xr[c];
                ax[(long)i * rank + j] = s * scale;
            }
        }
    }

    /// <summary>y[rows[i], o] += Σ_j ax[i, j]·Bᵀ[j, o] for o in [c0, c1), every i.</summary>
    public static void Expand(float* ax, int rank, float* bTransposed, int outDim, int* rows, int rowCount, int c0, int c1, float* y)
    {
        for (int i = 0; i < rowCount; i++)
        {
            float* yr = y + (long)rows[i] * outDim;
            float* axr = ax + (long)i * rank;
            for (int o = c0; o < c1; o++)
            {
                float acc = yr[o];
                for (int j = 0; j < rank; j++) acc += axr[j] * bTransposed[(long)j * outDim + o];
                yr[o] = acc;
            }
        }
    }
}
