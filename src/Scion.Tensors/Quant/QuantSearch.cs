using Scion.Tensors.Reference;

namespace Scion.Tensors.Quant;

/// <summary>
/// The scale searches of ggml's K-quant reference quantizers (make_qkx2_quants, make_qx_quants): they try a
/// few scales around the naive one and keep the one with the lowest weighted squared error.
/// </summary>
internal static unsafe class QuantSearch
{
    public const float GroupMaxEps = 1e-15f;

    /// <summary>Asymmetric search (scale and min) for levels 0..nmax. Returns the scale; <paramref name="theMin"/> is the
    /// positive offset to subtract (value ≈ scale*L - theMin).</summary>
    public static float MakeQkx2Quants(int n, int nmax, float* x, float* weights, byte* L, out float theMin, byte* laux,
        float rmin, float rdelta, int nstep, bool useMad)
    {
        float min = x[0], max = x[0];
        float sumW = weights[0];
        float sumX = sumW * x[0];
        for (int i = 1; i < n; i++)
        {
            if (x[i] < min) min = x[i];
            if (x[i] > max) max = x[i];
            float w = weights[i];
            sumW += w;
            sumX += w * x[i];
        }
        if (min > 0) min = 0;
        if (max == min)
        {
            for (int i = 0; i < n; i++) L[i] = 0;
            theMin = -min;
            return 0f;
        }
        float iscale = nmax / (max - min);
        float scale = 1 / iscale;
        float bestError = 0;
        for (int i = 0; i < n; i++)
        {
            int l = ReferenceQuantize.NearestInt(iscale * (x[i] - min));
            L[i] = (byte)Math.Clamp(l, 0, nmax);
            float diff = scale * L[i] + min - x[i];
            diff = useMad ? MathF.Abs(diff) : diff * diff;
            bestError += weights[i] * diff;
        }
        if (nstep < 1)
        {
            theMin = -min;
            return scale;
        }
        for (int step = 0; step <= nstep; step++)
        {
            iscale = (rmin + rdelta * step + nmax) / (max - min);
            float sumL = 0, sumL2 = 0, sumXL = 0;
            for (int i = 0; i < n; i++)
            {
                int l = Math.Clamp(ReferenceQuantize.NearestInt(iscale * (x[i] - min)), 0, nmax);
                laux[i] = (byte)l;
                float w = weights[i];
                sumL += w * l;
                sumL2 += w * l * l;
                sumXL += w * l * x[i];
            }
            float D = sumW * sumL2 - sumL * sumL;
            if (D > 0)
            {
                float thisScale = (sumW * sumXL - sumX * sumL) / D;
                float thisMin = (sumL2 * sumX - sumL * sumXL) / D;
                if (thisMin > 0)
                {
                    thisMin = 0;
                    thisScale = sumXL / sumL2;
                }
                float curError = 0;
                for (int i = 0; i < n; i++)
                {
                    float diff = thisScale * laux[i] + thisMin - x[i];
                    diff = useMad ? MathF.Abs(diff) : diff * diff;
                    curError += weights[i] * diff;
                }
                if (curError < bestError)
                {
                    for (int i = 0; i < n; i++) L[i] = laux[i];
                    bestError = curError;
                    scale = thisScale;
                    min = thisMin;
                }
            }
        }
        theMin = -min;
        return scale;
    }

    /// <summary>Symmetric search for levels -nmax..nmax-1 (stored biased by nmax). rmseType 1 weights errors by x².</summary>
    public static float MakeQxQuants(int n, int nmax, float* x, sbyte* L, int rmseType)
    {
        float max = 0, amax = 0;
        for (int i = 0; i < n; i++)
        {
            float ax = MathF.Abs(x[i]);
            if (ax > amax) { amax = ax; max = x[i]; }
        }
        if (amax < GroupMaxEps)
        {
            for (int i = 0; i < n; i++) L[i] = 0;
            return 0f;
        }
        float iscale = -nmax / max;
        if (rmseType == 0)
        {
            for (int i = 0; i < n; i++) L[i] = (sbyte)(nmax + Math.Clamp(ReferenceQuantize.NearestInt(iscale * x[i]), -nmax, nmax - 1));
            return 1 / iscale;
        }
        bool returnEarly = false;
        if (rmseType < 0) { rmseType = -rmseType; returnEarly = true; }
        float sumLX = 0, sumL2 = 0;
        for (int i = 0; i < n; i++)
        {
            int l = Math.Clamp(ReferenceQuantize.NearestInt(iscale * x[i]), -nmax, nmax - 1);
            L[i] = (sbyte)(l + nmax);
            float w = Weight(x[i], rmseType);
            sumLX += w * x[i] * l;
            sumL2 += w * l * l;
        }
        float scale = sumL2 != 0 ? sumLX / sumL2 : 0f;
        if (returnEarly) return sumL2 > 0 ? 0.5f * (scale + 1 / iscale) : 1 / iscale;
        float best = scale * sumLX;
        for (int step = -9; step <= 9; step++)
        {
            if (step == 0) continue;
            iscale = -(nmax + 0.1f * step) / max;
            sumLX = sumL2 = 0;
            for (int i = 0; i < n; i++)
            {
                int l = Math.Clamp(ReferenceQuantize.NearestInt(iscale * x[i]), -nmax, nmax - 1);
                float w = Weight(x[i], rmseType);
                sumLX += w * x[i] * l;
                sumL2 += w * l * l;
            }
            if (sumL2 > 0 && sumLX * sumLX > best * sumL2)
            {
                for (int i = 0; i < n; i++) L[i] = (sbyte)(nmax + Math.Clamp(ReferenceQuantize.NearestInt(iscale * x[i]), -nmax, nmax - 1));
                scale = sumLX / sumL2;
                best = scale * sumLX;
            }
        }
        return scale;
    }

    private static float Weight(float x, int rmseType) => rmseType switch
    {
        1 => x * x,
        2 => 1,
        3 => MathF.Abs(x),
        _ => MathF.Sqrt(MathF.Abs(x)),
    };
}
