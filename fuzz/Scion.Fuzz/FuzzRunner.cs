namespace Scion.Fuzz;

/// <summary>Runs one input through a target the way afl and the replay test both judge it.</summary>
public static class FuzzRunner
{
    /// <summary>Null when the target accepted the input or refused it with a clear error; otherwise the finding.</summary>
    public static Exception? Check(FuzzTarget target, byte[] input) => Check(target, input, out _);

    /// <param name="refusal">the clear error's message when the input was refused, null when it was accepted</param>
    public static Exception? Check(FuzzTarget target, byte[] input, out string? refusal)
    {
        refusal = null;
        try
        {
            target.Run(input);
            return null;
        }
        catch (Exception e) when (ClearErrors.IsClear(e))
        {
            refusal = e.Message;
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    /// <summary>One line per finding: why it is one, then the exception with its stack.</summary>
    public static string Describe(Exception e) => $"{ClearErrors.Explain(e)}\n{e}";
}
