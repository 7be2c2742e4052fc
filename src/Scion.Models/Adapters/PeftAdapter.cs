namespace Scion.Models.Adapters;

/// <summary>A loaded PEFT LoRA adapter: its config and one pair per adapted (layer, module), ordered by layer then module.</summary>
public sealed record PeftAdapter(PeftAdapterConfig Config, IReadOnlyList<LoraTensorPair> Pairs, string Directory);
