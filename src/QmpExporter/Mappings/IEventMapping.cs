using QmpExporter.Qmp;

namespace QmpExporter.Mappings;

/// <summary>
/// Turns one family of QMP events into series. Adding a mapping is one file implementing this (and, where events do
/// not tell the whole state, <see cref="IStateQuery"/>), declaring its metric families, plus one line in
/// <see cref="EventMappings"/>; every event is counted in <c>qmp_events_total</c> whether mapped or not.
/// </summary>
internal interface IEventMapping : IMapping
{
    IReadOnlyList<string> Events { get; }

    /// <summary>True when the mapping puts its events on spans of its own (jobs, migrations); the others' events go on the VM's incident span.</summary>
    bool RecordsOwnSpans => false;

    /// <summary>Runs on the VM's read loop for each event named in <see cref="Events"/>: quick, non-blocking, never throws on odd data.</summary>
    void Apply(in QmpEvent evt, VmContext vm);
}
