using System.Collections.Frozen;

namespace QmpExporter.Mappings;

/// <summary>The registry of mappings: one line per mapping, no reflection (NativeAOT-safe).</summary>
internal static class EventMappings
{
    public static readonly FrozenDictionary<string, IEventMapping> ByEvent = Index(
    [
        new RunStateMapping(),
    ]);

    private static FrozenDictionary<string, IEventMapping> Index(IEventMapping[] mappings) =>
        mappings.SelectMany(m => m.Events.Select(e => KeyValuePair.Create(e, m))).ToFrozenDictionary(StringComparer.Ordinal);
}
