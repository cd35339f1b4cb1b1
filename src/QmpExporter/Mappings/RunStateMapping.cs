using System.Text.Json;
using QmpExporter.Qmp;
using QmpExporter.Telemetry;

namespace QmpExporter.Mappings;

/// <summary>
/// STOP, RESUME, RESET and SHUTDOWN (qapi/run-state.json). Each also asks for <c>query-status</c>, whose answer is the
/// authority on the run state: a STOP alone does not say whether the VM paused on an I/O error, a panic or a command.
/// </summary>
internal sealed class RunStateMapping : IEventMapping
{
    public const string Stop = "STOP";
    public const string Resume = "RESUME";
    public const string Reset = "RESET";
    public const string Shutdown = "SHUTDOWN";

    public IReadOnlyList<string> Events { get; } = [Stop, Resume, Reset, Shutdown];

    public void Apply(in QmpEvent evt, IVmContext vm)
    {
        var series = vm.Series;
        switch (evt.Name)
        {
            case Stop:
                series.Add(MetricCatalog.Stops, SeriesKey.None);
                series.Set(MetricCatalog.VmRunning, SeriesKey.None, 0);
                break;
            case Resume:
                series.Set(MetricCatalog.VmRunning, SeriesKey.None, 1);
                series.SetState(MetricCatalog.VmStatus, new SeriesKey("running"));
                break;
            case Reset:
                series.Add(MetricCatalog.Resets, CauseKey(evt.Data));
                break;
            case Shutdown:
                series.Add(MetricCatalog.Shutdowns, CauseKey(evt.Data));
                break;
        }

        vm.RequestStatusRefresh();
    }

    /// <summary>Applies a <c>query-status</c> reply (StatusInfo: running, status).</summary>
    public static void ApplyStatus(VmSeries series, JsonElement statusInfo)
    {
        if (statusInfo.ValueKind != JsonValueKind.Object || !statusInfo.TryGetProperty("status", out var status) || status.ValueKind != JsonValueKind.String)
        {
            return;
        }

        var name = status.GetString()!;
        series.SetState(MetricCatalog.VmStatus, new SeriesKey(name));
        var running = statusInfo.TryGetProperty("running", out var r) ? r.ValueKind == JsonValueKind.True : name == "running";
        series.Set(MetricCatalog.VmRunning, SeriesKey.None, running ? 1 : 0);
    }

    private static SeriesKey CauseKey(ReadOnlySpan<byte> data) =>
        new(EventData.BoolLabel(EventData.Bool(data, "guest"u8)), EventData.EnumString(data, "reason"u8) ?? "");
}
