using System.Text.Json;
using QmpExporter.Qmp;
using QmpExporter.Telemetry;

namespace QmpExporter.Mappings;

/// <summary>
/// BLOCK_WRITE_THRESHOLD (qapi/block-core.json): a write reached past the threshold set on a node with
/// block-set-write-threshold, typically a thin-provisioned volume that needs extending. QEMU clears the threshold once
/// it fires, so each event is one crossing; <c>amount-exceeded</c> is how far the write went past it. The thresholds
/// set come from query-named-block-nodes (<c>write_threshold</c>) after every (re)connect and every
/// QmpExporter:BlockStatsInterval, and go when their event fires.
/// </summary>
internal sealed class BlockWriteThresholdMapping : IEventMapping, IStateQuery
{
    public const string WriteThreshold = "BLOCK_WRITE_THRESHOLD";

    public static readonly MetricFamily Exceeded = MetricFamily.Counter("qemu_block_write_threshold_exceeded_total",
        "Writes that went past the write threshold set on a block node (QMP BLOCK_WRITE_THRESHOLD), by node (auto-generated #block names resolved to the device). QEMU clears the threshold when it fires: each count is one crossing.",
        ["node_name"]);

    public static readonly MetricFamily LastExceededBytes = MetricFamily.Gauge("qemu_block_write_threshold_last_exceeded_bytes",
        "Bytes by which the last write went past the node's write threshold (amount-exceeded of QMP BLOCK_WRITE_THRESHOLD).",
        ["node_name"]);

    public static readonly MetricFamily Threshold = MetricFamily.Gauge("qemu_block_write_threshold_bytes",
        "Write threshold set on a block node with block-set-write-threshold (query-named-block-nodes write_threshold, after every (re)connect and every QmpExporter:BlockStatsInterval); the series goes when QMP BLOCK_WRITE_THRESHOLD fires, as QEMU clears the threshold then.",
        ["node_name"], MetricFamily.Configured, Teardown.SessionEnded);

    public IReadOnlyList<MetricFamily> Families { get; } = [Exceeded, LastExceededBytes, Threshold];

    public VmQuery Query => VmQuery.NamedBlockNodes;

    public string Command => "query-named-block-nodes";

    public IReadOnlyList<string> Events { get; } = [WriteThreshold];

    public void Apply(in QmpEvent evt, VmContext vm)
    {
        var node = vm.NodeNames.Resolve(EventData.Name(evt.Data, "node-name"u8), out var unknown);
        if (unknown)
        {
            vm.Request(VmQuery.Block);
        }

        vm.LastWriteThresholdEvent = vm.EventSequence;
        vm.Series.Remove(Threshold.With("node_name", node));
        vm.Series.Add(Exceeded.With("node_name", node));
        if (EventData.Long(evt.Data, "amount-exceeded"u8) is { } amount)
        {
            vm.Series.Set(LastExceededBytes.With("node_name", node), amount);
        }
    }

    public TimeSpan? PollInterval(VmContext vm, PollSettings settings) => settings.BlockStatsInterval;

    /// <summary>Applies query-named-block-nodes (BlockDeviceInfo list): a node without a threshold has write_threshold 0.</summary>
    public void Apply(JsonElement result, VmContext vm, long sentAt)
    {
        if (vm.LastWriteThresholdEvent > sentAt)
        {
            // A threshold fired since the query was sent: the reply may still show it set.
            vm.Request(VmQuery.NamedBlockNodes);
            return;
        }

        var thresholds = EventData.Items(result)
            .Select(n => (Name: EventData.String(n, "node-name"), Bytes: EventData.Long(n, "write_threshold") ?? 0))
            .Where(n => n.Name is not null && n.Bytes > 0)
            .Select(n => (Series: Threshold.With("node_name", vm.NodeNames.Resolve(n.Name, out _)), n.Bytes))
            .ToList();

        // Cleared only when a node's threshold went without its event (reset to 0): a poll must not churn series.
        if (vm.Series.Count(Threshold) != thresholds.Count || thresholds.Any(t => vm.Series.Get(t.Series) is null))
        {
            vm.Series.Clear(Threshold);
        }

        foreach (var (series, bytes) in thresholds)
        {
            vm.Series.Set(series, bytes);
        }
    }
}
