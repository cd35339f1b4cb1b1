using Microsoft.Extensions.Logging;
using QmpExporter.Qmp;
using QmpExporter.Telemetry;

namespace QmpExporter.Mappings;

/// <summary>
/// BLOCK_IO_ERROR (qapi/block-core.json): a guest device request failed. <c>device</c> is "" for -blockdev drives,
/// <c>node-name</c> may be missing or name the root node attached to the device rather than the failing node, and
/// <c>reason</c> is for people only (QEMU says not to parse it): it is logged, never a label. Newer QEMUs add
/// <c>qom-path</c>, which changes nothing here.
/// </summary>
internal sealed partial class BlockIoErrorMapping : IEventMapping
{
    public const string BlockIoError = "BLOCK_IO_ERROR";

    public static readonly MetricFamily BlockIoErrors = MetricFamily.Counter("qemu_block_io_errors_total",
        "Guest I/O errors from the QMP BLOCK_IO_ERROR event, by drive (device, \"\" for -blockdev), node (auto-generated #block names resolved to the device), operation, action taken and whether the disk was out of space (\"\" when QEMU did not say). QEMU may report the root node attached to the device rather than the node that failed.", ["device", "node_name", "operation", "action", "nospace"]);

    public IReadOnlyList<MetricFamily> Families { get; } = [BlockIoErrors];

    public IReadOnlyList<string> Events { get; } = [BlockIoError];

    public void Apply(in QmpEvent evt, VmContext vm)
    {
        var data = evt.Data;
        var device = EventData.Name(data, "device"u8) ?? "";
        var nodeName = vm.NodeNames.Resolve(EventData.Name(data, "node-name"u8), out var unknown);
        if (unknown)
        {
            vm.Request(VmQuery.Block);
        }

        var operation = EventData.EnumString(data, "operation"u8) ?? "";
        var action = EventData.EnumString(data, "action"u8) ?? "";
        vm.Series.Add(BlockIoErrors.With("device", device).With("node_name", nodeName).With("operation", operation).With("action", action)
            .With("nospace", EventData.BoolLabel(EventData.Bool(data, "nospace"u8))));

        if (vm.EventLogThrottle.TryEnter(out var suppressed))
        {
            LogIoError(vm.Logger, vm.Name, operation, PeerText.ForLog(device), PeerText.ForLog(nodeName), action, PeerText.ForLog(EventData.Text(data, "reason"u8)), suppressed);
        }

        if (action == "stop")
        {
            vm.Request(VmQuery.Status | VmQuery.Block);
        }
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Warning,
        Message = "VM {Vm}: guest {Operation} error on drive '{Device}' node '{NodeName}', action {Action}: {Reason} ({Suppressed} more block events since the last line)")]
    private static partial void LogIoError(ILogger logger, string vm, string operation, string device, string nodeName, string action, string reason, int suppressed);
}
