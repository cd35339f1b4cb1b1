using System.Text.Json;
using QmpExporter.Qmp;
using QmpExporter.Telemetry;

namespace QmpExporter.Mappings;

/// <summary>
/// STOP, RESUME, RESET, SHUTDOWN, SUSPEND, SUSPEND_DISK and WAKEUP (qapi/run-state.json), and query-status. Each event also asks for query-status,
/// the authority on the run state: a STOP alone does not say whether the VM paused on an I/O error, a panic, a
/// migration or a command.
/// </summary>
internal sealed class RunStateMapping : IEventMapping, IStateQuery
{
    public const string Stop = "STOP";
    public const string Resume = "RESUME";
    public const string Reset = "RESET";
    public const string Shutdown = "SHUTDOWN";
    public const string Suspend = "SUSPEND";
    public const string SuspendDisk = "SUSPEND_DISK";
    public const string Wakeup = "WAKEUP";

    /// <summary>SUSPEND and WAKEUP change the run state (suspended, running) without a STOP or RESUME.</summary>
    public IReadOnlyList<string> Events { get; } = [Stop, Resume, Reset, Shutdown, Suspend, SuspendDisk, Wakeup];

    public VmQuery Query => VmQuery.Status;

    public string Command => "query-status";

    public void Apply(in QmpEvent evt, VmContext vm)
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

        vm.LastRunStateEvent = vm.EventSequence;
        vm.Request(VmQuery.Status);
    }

    public TimeSpan? PollInterval(VmContext vm, PollSettings settings) => null;

    /// <summary>Applies a query-status reply (StatusInfo: running, status).</summary>
    public void Apply(JsonElement result, VmContext vm, long sentAt)
    {
        // A run-state event since the query was sent asked for another query-status: that one will tell.
        if (vm.LastRunStateEvent > sentAt || EventData.String(result, "status") is not { } status)
        {
            return;
        }

        vm.Series.SetState(MetricCatalog.VmStatus, new SeriesKey(status));
        vm.Series.Set(MetricCatalog.VmRunning, SeriesKey.None, EventData.Bool(result, "running") ?? status == "running" ? 1 : 0);
    }

    private static SeriesKey CauseKey(ReadOnlySpan<byte> data) =>
        new(EventData.BoolLabel(EventData.Bool(data, "guest"u8)), EventData.EnumString(data, "reason"u8) ?? "");
}
