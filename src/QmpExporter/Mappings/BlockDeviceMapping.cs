using System.Text.Json;
using QmpExporter.Qmp;
using QmpExporter.Telemetry;

namespace QmpExporter.Mappings;

/// <summary>
/// DEVICE_TRAY_MOVED (qapi/block.json) and query-block, which gives the trays' state on (re)connect and the drives'
/// root nodes, from which auto-generated node names are resolved to stable ones.
/// </summary>
internal sealed class BlockDeviceMapping : IEventMapping, IStateQuery
{
    public const string DeviceTrayMoved = "DEVICE_TRAY_MOVED";

    public static readonly MetricFamily TrayOpen = MetricFamily.Gauge("qemu_device_tray_open",
        "1 while the tray of a removable drive is open, else 0 (QMP DEVICE_TRAY_MOVED, query-block tray_open), by drive (device, \"\" for -blockdev) and guest device id.", ["device", "id"]);

    public IReadOnlyList<MetricFamily> Families { get; } = [TrayOpen];

    public IReadOnlyList<string> Events { get; } = [DeviceTrayMoved];

    public VmQuery Query => VmQuery.Block;

    public string Command => "query-block";

    public void Apply(in QmpEvent evt, VmContext vm)
    {
        var open = EventData.Bool(evt.Data, "tray-open"u8);
        if (open is null)
        {
            return;
        }

        var tray = TrayOpen.With("device", EventData.Name(evt.Data, "device"u8) ?? "").With("id", EventData.Name(evt.Data, "id"u8) ?? "");
        vm.Series.Set(tray, open.Value ? 1 : 0);
        if (vm.LastTrayEvents.Count < vm.Series.Cap(TrayOpen))
        {
            vm.LastTrayEvents[tray.Key] = vm.EventSequence;
        }
    }

    public TimeSpan? PollInterval(VmContext vm, PollSettings settings) => null;

    public void Apply(JsonElement result, VmContext vm, long sentAt)
    {
        var autoNames = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var drive in EventData.Items(result).Where(d => d.ValueKind == JsonValueKind.Object))
        {
            var device = EventData.String(drive, "device") ?? "";
            var qdev = EventData.String(drive, "qdev") ?? "";
            var tray = TrayOpen.With("device", device).With("id", qdev);
            if (EventData.Bool(drive, "tray_open") is { } open && vm.LastTrayEvents.GetValueOrDefault(tray.Key) <= sentAt)
            {
                vm.Series.Set(tray, open ? 1 : 0);
            }

            if (drive.TryGetProperty("inserted", out var inserted) && EventData.String(inserted, "node-name") is { Length: > 0 } node && node[0] == '#')
            {
                autoNames[node] = device.Length > 0 ? device : qdev;
            }
        }

        vm.NodeNames.Replace(autoNames);
    }
}
