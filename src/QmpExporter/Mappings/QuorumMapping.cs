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

    public static readonly MetricFamily QuorumBadReports = MetricFamily.Counter("qemu_quorum_bad_reports_total",
        "Quorum children that disagreed or failed (QMP QUORUM_REPORT_BAD), by child node and operation. A lower bound: QEMU sends at most one per second per node and drops the rest.", ["node_name", "type"]);

    public static readonly MetricFamily QuorumBadSectors = MetricFamily.Counter("qemu_quorum_bad_sectors_total",
        "Sectors reported bad in quorum children (sectors-count of QMP QUORUM_REPORT_BAD). A lower bound: QEMU sends at most one event per second per node and drops the rest.", ["node_name", "type"]);

    public static readonly MetricFamily QuorumFailures = MetricFamily.Counter("qemu_quorum_failures_total",
        "Quorum reads where no two children agreed (QMP QUORUM_FAILURE). A lower bound: QEMU sends at most one per second.", [], 1).SeededAtZero();

    public IReadOnlyList<MetricFamily> Families { get; } = [QuorumBadReports, QuorumBadSectors, QuorumFailures];

    public IReadOnlyList<string> Events { get; } = [ReportBad, Failure];

    public void Apply(in QmpEvent evt, VmContext vm)
    {
        if (evt.Name == Failure)
        {
            vm.Series.Add(QuorumFailures);
            return;
        }

        var data = evt.Data;
        var sectors = EventData.Count(data, "sectors-count"u8) ?? 0;
        var node = vm.NodeNames.Resolve(EventData.Name(data, "node-name"u8), out _);
        var type = EventData.EnumString(data, "type"u8) ?? "";
        vm.Series.Add(QuorumBadReports.With("node_name", node).With("type", type));
        vm.Series.Add(QuorumBadSectors.With("node_name", node).With("type", type), sectors);
    }
}
