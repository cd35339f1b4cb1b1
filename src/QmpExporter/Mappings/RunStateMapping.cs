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

    // Without a monitor the run state is unknown (QEMU may have exited): no series rather than a stale one.
    public static readonly MetricFamily VmRunning = MetricFamily.Gauge("qemu_vm_running",
        "1 while the VM's run state is 'running' (QMP query-status, STOP/RESUME events), else 0.", [], 1, Teardown.Disconnected);

    public static readonly MetricFamily VmStatus = MetricFamily.Gauge("qemu_vm_status",
        "1 for the VM's current run state from QMP query-status (running, paused, io-error, guest-panicked, ...), 0 for the other states seen.", ["status"], 24, Teardown.Disconnected);

    public static readonly MetricFamily Resets = MetricFamily.Counter("qemu_resets_total",
        "VM resets from the QMP RESET event, by whether the guest asked for it and QEMU's reason.", ["guest", "reason"], 32);

    public static readonly MetricFamily Shutdowns = MetricFamily.Counter("qemu_shutdowns_total",
        "VM shutdowns from the QMP SHUTDOWN event, by whether the guest asked for it and QEMU's reason.", ["guest", "reason"], 32);

    // Counters of rare outcomes exist from the start, so that increase() sees their first event.
    public static readonly MetricFamily Stops = MetricFamily.Counter("qemu_stops_total",
        "Times the VM was paused (QMP STOP event); query-status tells why, see qemu_vm_status.", [], 1).SeededAtZero();

    public IReadOnlyList<MetricFamily> Families { get; } = [VmRunning, VmStatus, Resets, Shutdowns, Stops];

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
                series.Add(Stops);
                series.Set(VmRunning, 0);
                break;
            case Resume:
                series.Set(VmRunning, 1);
                series.SetState(VmStatus.With("status", "running"));
                break;
            case Reset:
                series.Add(Cause(Resets, evt.Data));
                break;
            case Shutdown:
                series.Add(Cause(Shutdowns, evt.Data));
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

        vm.Series.SetState(VmStatus.With("status", status));
        vm.Series.Set(VmRunning, EventData.Bool(result, "running") ?? status == "running" ? 1 : 0);
    }

    private static Series Cause(MetricFamily family, ReadOnlySpan<byte> data) =>
        family.With("guest", EventData.BoolLabel(EventData.Bool(data, "guest"u8))).With("reason", EventData.EnumString(data, "reason"u8) ?? "");
}
