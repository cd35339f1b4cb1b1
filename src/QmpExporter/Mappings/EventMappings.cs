using System.Collections.Frozen;
using QmpExporter.Libvirt;
using QmpExporter.Qmp;
using QmpExporter.Telemetry;

namespace QmpExporter.Mappings;

/// <summary>
/// The registry of mappings and state queries, one line each, no reflection (NativeAOT-safe); the catalog of every
/// metric family; and the one way a session reaches the mappings: <see cref="Dispatch"/> for each event, and the
/// lifecycle hooks.
/// </summary>
internal static class EventMappings
{
    private static readonly IMapping[] Mappings =
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
        new BlockWriteThresholdMapping(),
        new BlockNodeInfo(),
    ];

    public static readonly FrozenDictionary<string, IEventMapping> ByEvent = Mappings.OfType<IEventMapping>()
        .SelectMany(m => m.Events.Select(e => KeyValuePair.Create(e, m)))
        .ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>In the order a session runs them after a (re)connect: query-block first, so node names resolve.</summary>
    public static readonly IReadOnlyList<IStateQuery> Queries = [.. Mappings.OfType<IStateQuery>()];

    /// <summary>Every family a VM may have: the session's, the series store's own, then each mapping's, in registration order.</summary>
    public static readonly IReadOnlyList<MetricFamily> Catalog =
        MetricCatalog.Index([.. SessionMetrics.Families, .. MetricCatalog.Families, .. Mappings.SelectMany(m => m.Families)]);

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

    public static void Connected(VmContext vm, QmpGreeting greeting)
    {
        foreach (var mapping in Mappings)
        {
            mapping.Connected(vm, greeting);
        }
    }

    public static void Resynced(VmContext vm)
    {
        foreach (var mapping in Mappings)
        {
            mapping.Resynced(vm);
        }
    }

    public static void Disconnected(VmContext vm)
    {
        vm.Series.TearDown(Teardown.Disconnected);
        foreach (var mapping in Mappings)
        {
            mapping.Disconnected(vm);
        }
    }

    public static void Removed(VmContext vm)
    {
        foreach (var mapping in Mappings)
        {
            mapping.Removed(vm);
        }

        vm.Traces.EndAll();
        vm.Series.TearDown(Teardown.SessionEnded);
    }

    /// <summary>Runs the mappings' timers and ends a quiet incident span; returns when the next is due, or null.</summary>
    public static DateTimeOffset? Due(VmContext vm, DateTimeOffset now, PollSettings settings)
    {
        var next = vm.Traces.EndQuietIncident(now);
        foreach (var mapping in Mappings)
        {
            if (mapping.Due(vm, now, settings) is { } due && (next is null || due < next))
            {
                next = due;
            }
        }

        return next;
    }
}
