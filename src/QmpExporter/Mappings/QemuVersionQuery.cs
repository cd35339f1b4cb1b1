using System.Text.Json;
using QmpExporter.Qmp;
using QmpExporter.Telemetry;

namespace QmpExporter.Mappings;

/// <summary>query-version: confirms <c>qemu_info</c> after every (re)connect (QEMU may have been upgraded in between).</summary>
internal sealed class QemuVersionQuery : IStateQuery
{
    public static readonly MetricFamily QemuInfo = MetricFamily.Gauge("qemu_info",
        "1 with QEMU's version and distribution package as labels, from the QMP greeting, and the VM's uuid (-uuid or query-uuid, \"\" for none) and QEMU's pid (\"\" when not known: TCP, another pid namespace).", ["version", "package", "uuid", "pid"], 1);

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
        SetInfo(vm, version, EventData.String(result, "package")?.Trim() ?? "");
    }

    /// <summary>The greeting tells the version first; query-version confirms it.</summary>
    public void Connected(VmContext vm, QmpGreeting greeting) => SetInfo(vm, greeting.Version, greeting.Package);

    /// <summary>Sets <c>qemu_info</c> to exactly these labels and the connection's uuid and pid.</summary>
    private static void SetInfo(VmContext vm, string version, string package)
    {
        var series = vm.Series;
        var info = QemuInfo.With("version", version).With("package", package).With("uuid", vm.Identity.Uuid).With("pid", vm.Identity.PidLabel);
        if (series.Get(info) is null)
        {
            series.Clear(QemuInfo);
            series.Set(info, 1);
        }
    }
}
