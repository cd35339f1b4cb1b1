using System.Text.Json;
using QmpExporter.Qmp;
using QmpExporter.Telemetry;

namespace QmpExporter.Mappings;

/// <summary>query-version: confirms <c>qemu_info</c> after every (re)connect (QEMU may have been upgraded in between).</summary>
internal sealed class QemuVersionQuery : IStateQuery
{
    public static readonly MetricFamily QemuInfo = MetricFamily.Gauge("qemu_info",
        "1 with QEMU's version and distribution package as labels, from the QMP greeting.", ["version", "package"], 1);

    public IReadOnlyList<MetricFamily> Families { get; } = [QemuInfo];

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

    /// <summary>The greeting tells the version first; query-version confirms it.</summary>
    public void Connected(VmContext vm, QmpGreeting greeting) => SetInfo(vm.Series, greeting.Version, greeting.Package);

    /// <summary>Sets <c>qemu_info</c> to exactly these labels.</summary>
    private static void SetInfo(VmSeries series, string version, string package)
    {
        var info = QemuInfo.With("version", version).With("package", package);
        if (series.Get(info) is null)
        {
            series.Clear(QemuInfo);
            series.Set(info, 1);
        }
    }
}
