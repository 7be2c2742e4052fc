using Scion.Fuzz.Targets;

namespace Scion.Fuzz;

/// <summary>Every target, by name.</summary>
public static class FuzzTargets
{
    public static IReadOnlyList<FuzzTarget> All { get; } =
    [
        new GgufTarget(), new SafetensorsTarget(), new HfConfigTarget(), new AdapterTarget(), new TokenizerJsonTarget(),
        new ChatTemplateTarget(), new JsonlTarget(), new RequestTarget(), new EncodeTarget(),
    ];

    public static FuzzTarget? Find(string name) => All.FirstOrDefault(t => t.Name == name);
}
