using QmpExporter.Qmp;
using QmpExporter.Telemetry;

namespace QmpExporter.Mappings;

/// <summary>
/// BLOCK_WRITE_THRESHOLD (qapi/block-core.json): a write reached past the threshold set on a node with
/// block-set-write-threshold, typically a thin-provisioned volume that needs extending. QEMU clears the threshold once
/// it fires, so each event is one crossing; <c>amount-exceeded</c> is how far the write went past it.
/// </summary>
internal sealed class BlockWriteThresholdMapping : IEventMapping
{
    public const string WriteThreshold = "BLOCK_WRITE_THRESHOLD";

    public static readonly MetricFamily Exceeded = MetricFamily.Counter("qemu_block_write_threshold_exceeded_total",
        "Writes that went past the write threshold set on a block node (QMP BLOCK_WRITE_THRESHOLD), by node (auto-generated #block names resolved to the device). QEMU clears the threshold when it fires: each count is one crossing.",
        ["node_name"]);

    public static readonly MetricFamily LastExceededBytes = MetricFamily.Gauge("qemu_block_write_threshold_last_exceeded_bytes",
        "Bytes by which the last write went past the node's write threshold (amount-exceeded of QMP BLOCK_WRITE_THRESHOLD).",
        ["node_name"]);

    public IReadOnlyList<MetricFamily> Families { get; } = [Exceeded, LastExceededBytes];

    public IReadOnlyList<string> Events { get; } = [WriteThreshold];

    public void Apply(in QmpEvent evt, VmContext vm)
    {
        var node = vm.NodeNames.Resolve(EventData.Name(evt.Data, "node-name"u8), out var unknown);
        if (unknown)
        {
            vm.Request(VmQuery.Block);
        }

        vm.Series.Add(Exceeded.With("node_name", node));
        if (EventData.Long(evt.Data, "amount-exceeded"u8) is { } amount)
        {
            vm.Series.Set(LastExceededBytes.With("node_name", node), amount);
        }
    }
}
