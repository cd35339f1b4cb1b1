using Microsoft.Extensions.Logging;
using QmpExporter.Qmp;
using QmpExporter.Telemetry;

namespace QmpExporter.Mappings;

/// <summary>GUEST_PANICKED (qapi/run-state.json) and DUMP_COMPLETED (qapi/dump.json): what happened to the guest as a whole.</summary>
internal sealed partial class GuestEventsMapping : IEventMapping
{
    public const string GuestPanicked = "GUEST_PANICKED";
    public const string DumpCompleted = "DUMP_COMPLETED";

    public IReadOnlyList<string> Events { get; } = [GuestPanicked, DumpCompleted];

    public void Apply(in QmpEvent evt, VmContext vm)
    {
        if (evt.Name == GuestPanicked)
        {
            vm.Series.Add(MetricCatalog.GuestPanics, new SeriesKey(EventData.EnumString(evt.Data, "action"u8) ?? ""));
            vm.Request(VmQuery.Status);
            return;
        }

        // DumpQueryResult: status is completed or failed here; "error" is a human-readable text, logged only.
        var result = EventData.Object(evt.Data, "result"u8);
        var failed = EventData.EnumString(result, "status"u8) != "completed";
        vm.Series.Add(MetricCatalog.Dumps, new SeriesKey(failed ? "failed" : "completed"));
        if (EventData.Long(result, "total"u8) is { } total)
        {
            vm.Series.Set(MetricCatalog.DumpLastBytes, SeriesKey.None, total);
        }

        if (failed)
        {
            LogDumpFailed(vm.Logger, vm.Name, EventData.Text(evt.Data, "error"u8) ?? "no error text");
        }
    }

    [LoggerMessage(EventId = 101, Level = LogLevel.Warning, Message = "VM {Vm}: guest memory dump failed: {Error}")]
    private static partial void LogDumpFailed(ILogger logger, string vm, string error);
}
