using System.Collections.Frozen;
using QmpExporter.Qmp;
using QmpExporter.Spans;
using QmpExporter.Telemetry;

namespace QmpExporter.Mappings;

/// <summary>The registry of mappings and state queries: one line per mapping, no reflection (NativeAOT-safe).</summary>
internal static class EventMappings
{
    private static readonly object[] Mappings =
    [
        new BlockDeviceMapping(),
        new QemuVersionQuery(),
        new RunStateMapping(),
        new BlockJobMapping(),
        new MigrationMapping(),
        new BlockIoErrorMapping(),
        new BlockStatsQuery(),
        new GuestEventsMapping(),
        new QuorumMapping(),
    ];

    public static readonly FrozenDictionary<string, IEventMapping> ByEvent = Mappings.OfType<IEventMapping>()
        .SelectMany(m => m.Events.Select(e => KeyValuePair.Create(e, m)))
        .ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>Counts the event and applies its mapping, if any: what a session does with every event it reads.</summary>
    public static void Dispatch(in QmpEvent evt, VmContext vm)
    {
        vm.Series.RecordEvent(evt.Name, evt.TimestampSeconds);
        vm.NextEvent();
        var mapping = ByEvent.GetValueOrDefault(evt.Name);
        mapping?.Apply(evt, vm);
        if (mapping?.RecordsOwnSpans != true && vm.Spans.Enabled && vm.Traces.Incident(evt, vm.Time.GetUtcNow()))
        {
            // So the session schedules the end of the incident once it goes quiet.
            vm.Wake();
        }
    }

    /// <summary>In the order a session runs them after a (re)connect: query-block first, so node names resolve.</summary>
    public static readonly IReadOnlyList<IStateQuery> Queries = [.. Mappings.OfType<IStateQuery>()];
}
