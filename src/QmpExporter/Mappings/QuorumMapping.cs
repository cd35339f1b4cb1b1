using QmpExporter.Qmp;
using QmpExporter.Telemetry;

namespace QmpExporter.Mappings;

/// <summary>
/// QUORUM_REPORT_BAD and QUORUM_FAILURE (qapi/block-core.json). QEMU rate-limits both to one per second (per node for
/// REPORT_BAD) and drops all but the last of a burst, so every count here is a lower bound.
/// </summary>
internal sealed class QuorumMapping : IEventMapping
{
    public const string ReportBad = "QUORUM_REPORT_BAD";
    public const string Failure = "QUORUM_FAILURE";

    public IReadOnlyList<string> Events { get; } = [ReportBad, Failure];

    public void Apply(in QmpEvent evt, VmContext vm)
    {
        if (evt.Name == Failure)
        {
            vm.Series.Add(MetricCatalog.QuorumFailures, SeriesKey.None);
            return;
        }

        var data = evt.Data;
        var key = new SeriesKey(vm.NodeNames.Resolve(EventData.Name(data, "node-name"u8), out _), EventData.EnumString(data, "type"u8) ?? "");
        vm.Series.Add(MetricCatalog.QuorumBadReports, key);
        vm.Series.Add(MetricCatalog.QuorumBadSectors, key, EventData.Long(data, "sectors-count"u8) ?? 0);
    }
}
