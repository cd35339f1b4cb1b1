using System.Text.Json;
using QmpExporter.Telemetry;

namespace QmpExporter.Mappings;

/// <summary>
/// query-blockstats, polled slowly: QEMU's own count of failed operations per drive. It is authoritative where
/// BLOCK_IO_ERROR events may be missed (while disconnected) or are not raised at all (errors of QEMU's own I/O).
/// </summary>
internal sealed class BlockStatsQuery : IStateQuery
{
    private static readonly (string Field, string Operation)[] FailedCounters =
    [
        ("failed_rd_operations", "read"),
        ("failed_wr_operations", "write"),
        ("failed_flush_operations", "flush"),
        ("failed_unmap_operations", "unmap"),
    ];

    public static readonly MetricFamily BlockFailedOperations = MetricFamily.Counter("qemu_block_failed_operations_total",
        "Failed block operations as QEMU counts them (query-blockstats failed_*_operations, polled every QmpExporter:BlockStatsInterval): the authoritative total beside qemu_block_io_errors_total. Resets when QEMU restarts.", ["device", "node_name", "operation"]);

    public IReadOnlyList<MetricFamily> Families { get; } = [BlockFailedOperations];

    public VmQuery Query => VmQuery.BlockStats;

    public string Command => "query-blockstats";

    public TimeSpan? PollInterval(VmContext vm, PollSettings settings) => settings.BlockStatsInterval;

    public void Apply(JsonElement result, VmContext vm, long sentAt)
    {
        foreach (var drive in EventData.Items(result).Where(d => d.ValueKind == JsonValueKind.Object))
        {
            var device = EventData.String(drive, "device") ?? "";
            var node = EventData.String(drive, "node-name");
            if (string.IsNullOrEmpty(node) || !drive.TryGetProperty("stats", out var stats))
            {
                // A drive without media (an empty CD tray) has no node and nothing that can fail.
                continue;
            }

            var nodeName = vm.NodeNames.Resolve(node, out _);

            foreach (var (field, operation) in FailedCounters)
            {
                if (EventData.Long(stats, field) is { } failed)
                {
                    vm.Series.Set(BlockFailedOperations.With("device", device).With("node_name", nodeName).With("operation", operation), failed);
                }
            }
        }
    }
}
