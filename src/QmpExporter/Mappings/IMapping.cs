using QmpExporter.Qmp;
using QmpExporter.Telemetry;

namespace QmpExporter.Mappings;

/// <summary>
/// What every mapping and state query has: the metric families it writes (declared in its own file, with HELP, labels,
/// seeds and teardown) and hooks into a VM session's life. The session calls the hooks through
/// <see cref="EventMappings"/>, never a mapping by name. Each hook runs on the session's own task: quick, never throws.
/// </summary>
internal interface IMapping
{
    IReadOnlyList<MetricFamily> Families { get; }

    /// <summary>A QMP session was established (greeting read, capabilities negotiated), before any query.</summary>
    void Connected(VmContext vm, QmpGreeting greeting)
    {
    }

    /// <summary>The state queries after a (re)connect were applied: the series tell the VM's state again.</summary>
    void Resynced(VmContext vm)
    {
    }

    /// <summary>The QMP session ended; families with <see cref="Teardown.Disconnected"/> are cleared already.</summary>
    void Disconnected(VmContext vm)
    {
    }

    /// <summary>The VM's session stopped for good (VM removed, socket changed, exporter stopping): end what is open.</summary>
    void Removed(VmContext vm)
    {
    }

    /// <summary>Runs the mapping's timers (expiries); returns when it next needs to, or null.</summary>
    DateTimeOffset? Due(VmContext vm, DateTimeOffset now, PollSettings settings) => null;
}
