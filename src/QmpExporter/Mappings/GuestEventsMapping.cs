using Microsoft.Extensions.Logging;
using QmpExporter.Qmp;
using QmpExporter.Telemetry;

namespace QmpExporter.Mappings;

/// <summary>GUEST_PANICKED (qapi/run-state.json) and DUMP_COMPLETED (qapi/dump.json): what happened to the guest as a whole.</summary>
internal sealed partial class GuestEventsMapping : IEventMapping
{
    public const string GuestPanicked = "GUEST_PANICKED";
    public const string DumpCompleted = "DUMP_COMPLETED";

    public static readonly MetricFamily GuestPanics = MetricFamily.Counter("qemu_guest_panics_total",
        "Guest kernel panics reported through pvpanic or Hyper-V crash MSRs (QMP GUEST_PANICKED), by the action QEMU took (pause, poweroff, run).", ["action"], 8);

    public static readonly MetricFamily Dumps = MetricFamily.Counter("qemu_dumps_total",
        "Guest memory dumps that ended, by result: completed or failed (QMP DUMP_COMPLETED).", ["result"], 4).Seeded("completed", "failed");

    public static readonly MetricFamily DumpLastBytes = MetricFamily.Gauge("qemu_dump_last_bytes",
        "Size in bytes of the last guest memory dump (QMP DUMP_COMPLETED result.total).", [], 1);

    public IReadOnlyList<MetricFamily> Families { get; } = [GuestPanics, Dumps, DumpLastBytes];

    public IReadOnlyList<string> Events { get; } = [GuestPanicked, DumpCompleted];

    public void Apply(in QmpEvent evt, VmContext vm)
    {
        if (evt.Name == GuestPanicked)
        {
            vm.Series.Add(GuestPanics.With("action", EventData.EnumString(evt.Data, "action"u8) ?? ""));
            vm.Request(VmQuery.Status);
            return;
        }

        // DumpQueryResult: status is completed or failed here; "error" is a human-readable text, logged only.
        var result = EventData.Object(evt.Data, "result"u8);
        var failed = EventData.EnumString(result, "status"u8) != "completed";
        vm.Series.Add(Dumps.With("result", failed ? "failed" : "completed"));
        if (EventData.Long(result, "total"u8) is { } total)
        {
            vm.Series.Set(DumpLastBytes, total);
        }

        if (failed && vm.EventLogThrottle.TryEnter(out var suppressed))
        {
            LogDumpFailed(vm.Logger, vm.Name, PeerText.ForLog(EventData.Text(evt.Data, "error"u8) ?? "no error text"), suppressed);
        }
    }

    [LoggerMessage(EventId = 101, Level = LogLevel.Warning, Message = "VM {Vm}: guest memory dump failed: {Error} ({Suppressed} more events since the last line)")]
    private static partial void LogDumpFailed(ILogger logger, string vm, string error, int suppressed);
}
