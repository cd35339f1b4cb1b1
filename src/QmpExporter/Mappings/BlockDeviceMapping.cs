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

        var key = new SeriesKey(EventData.Name(evt.Data, "device"u8) ?? "", EventData.Name(evt.Data, "id"u8) ?? "");
        vm.Series.Set(MetricCatalog.TrayOpen, key, open.Value ? 1 : 0);
        if (vm.LastTrayEvents.Count < vm.Series.Cap(MetricCatalog.TrayOpen))
        {
            vm.LastTrayEvents[key] = vm.EventSequence;
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
            var tray = new SeriesKey(device, qdev);
            if (EventData.Bool(drive, "tray_open") is { } open && vm.LastTrayEvents.GetValueOrDefault(tray) <= sentAt)
            {
                vm.Series.Set(MetricCatalog.TrayOpen, tray, open ? 1 : 0);
            }

            if (drive.TryGetProperty("inserted", out var inserted) && EventData.String(inserted, "node-name") is { Length: > 0 } node && node[0] == '#')
            {
                autoNames[node] = device.Length > 0 ? device : qdev;
            }
        }

        vm.NodeNames.Replace(autoNames);
    }
}
