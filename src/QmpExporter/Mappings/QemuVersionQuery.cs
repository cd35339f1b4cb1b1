using System.Text.Json;
using QmpExporter.Telemetry;

namespace QmpExporter.Mappings;

/// <summary>query-version: confirms <c>qemu_info</c> after every (re)connect (QEMU may have been upgraded in between).</summary>
internal sealed class QemuVersionQuery : IStateQuery
{
    public VmQuery Query => VmQuery.Version;

    public string Command => "query-version";

    public TimeSpan? PollInterval(VmContext vm, PollSettings settings) => null;

    public void Apply(JsonElement result, VmContext vm, long sentAt)
    {
        if (result.ValueKind != JsonValueKind.Object || !result.TryGetProperty("qemu", out var qemu))
        {
            return;
        }

        var version = $"{EventData.Long(qemu, "major") ?? 0}.{EventData.Long(qemu, "minor") ?? 0}.{EventData.Long(qemu, "micro") ?? 0}";
        SetInfo(vm.Series, version, EventData.String(result, "package")?.Trim() ?? "");
    }

    /// <summary>Sets <c>qemu_info</c> to exactly these labels.</summary>
    public static void SetInfo(VmSeries series, string version, string package, string uuid = "")
    {
        var key = new SeriesKey(version, package, uuid);
        if (series.Get(MetricCatalog.QemuInfo, key) is null)
        {
            series.Clear(MetricCatalog.QemuInfo);
            series.Set(MetricCatalog.QemuInfo, key, 1);
        }
    }
}
