using QmpExporter.Mappings;
using QmpExporter.Telemetry;

namespace QmpExporter.Tests.Mappings;

public sealed class RunStateMappingTests : IDisposable
{
    private readonly MappingHarness vm = new();

    public void Dispose() => vm.Dispose();

    [Fact]
    public void Stop_pauses_counts_and_asks_query_status_why()
    {
        vm.Reply<RunStateMapping>("""{"running": true, "singlestep": false, "status": "running"}""");
        vm.Event("""{"timestamp": {"seconds": 1795624766, "microseconds": 155936}, "event": "STOP"}""");

        Assert.Equal(1, vm.Value(RunStateMapping.Stops));
        Assert.Equal(0, vm.Value(RunStateMapping.VmRunning));
        Assert.Equal(VmQuery.Status, vm.Vm.TakeRequests());
        Assert.Equal(1795624766.155936, vm.Value(MetricCatalog.LastEventTimestamp)!.Value, 6);
        Assert.Equal(1, vm.Value(MetricCatalog.Events.With("event", "STOP")));

        vm.Reply<RunStateMapping>("""{"running": false, "singlestep": false, "status": "io-error"}""");
        Assert.Equal(1, vm.Value(RunStateMapping.VmStatus.With("status", "io-error")));
        Assert.Equal(0, vm.Value(RunStateMapping.VmStatus.With("status", "running")));
    }

    [Fact]
    public void Resume_runs_again()
    {
        vm.Event("""{"timestamp": {"seconds": 1795624766, "microseconds": 155936}, "event": "STOP"}""");
        vm.Event("""{"timestamp": {"seconds": 1795624766, "microseconds": 156109}, "event": "RESUME"}""");

        Assert.Equal(1, vm.Value(RunStateMapping.VmRunning));
        Assert.Equal(1, vm.Value(RunStateMapping.VmStatus.With("status", "running")));
    }

    [Fact]
    public void Reset_and_shutdown_count_by_guest_and_reason()
    {
        // qapi/run-state.json examples.
        vm.Event("""{ "event": "RESET", "data": { "guest": false, "reason": "guest-reset" }, "timestamp": { "seconds": 1267041653, "microseconds": 9518 } }""");
        vm.Event("""{ "event": "RESET", "data": { "guest": false, "reason": "guest-reset" }, "timestamp": { "seconds": 1267041654, "microseconds": 9518 } }""");
        vm.Event("""{ "event": "SHUTDOWN", "data": { "guest": true, "reason": "guest-shutdown" }, "timestamp": { "seconds": 1267040730, "microseconds": 682951 } }""");

        Assert.Equal(2, vm.Value(RunStateMapping.Resets.With("guest", "false").With("reason", "guest-reset")));
        Assert.Equal(1, vm.Value(RunStateMapping.Shutdowns.With("guest", "true").With("reason", "guest-shutdown")));
    }

    [Fact]
    public void Old_qemu_reset_without_data_still_counts()
    {
        vm.Event("""{"timestamp": {"seconds": 1, "microseconds": 0}, "event": "RESET"}""");

        Assert.Equal(1, vm.Value(RunStateMapping.Resets.With("guest", "").With("reason", "")));
    }

    [Fact]
    public void Suspend_and_wakeup_ask_query_status_which_tells_suspended()
    {
        vm.Reply<RunStateMapping>("""{"running": true, "status": "running"}""");
        vm.Event("""{"timestamp": {"seconds": 1795624778, "microseconds": 631186}, "event": "SUSPEND"}""");
        Assert.True(vm.Vm.TakeRequests().HasFlag(VmQuery.Status));

        vm.Reply<RunStateMapping>("""{"running": false, "status": "suspended"}""");
        Assert.Equal(0, vm.Value(RunStateMapping.VmRunning));
        Assert.Equal(1, vm.Value(RunStateMapping.VmStatus.With("status", "suspended")));

        vm.Event("""{"timestamp": {"seconds": 1795624778, "microseconds": 632662}, "event": "WAKEUP"}""");
        Assert.True(vm.Vm.TakeRequests().HasFlag(VmQuery.Status));
    }

    [Fact]
    public void Suspend_disk_asks_query_status_and_counts_no_stop()
    {
        // qapi/run-state.json example: the guest saved itself to disk (S4); QEMU then exits or shuts down.
        vm.Reply<RunStateMapping>("""{"running": true, "status": "running"}""");
        vm.Event("""{ "event": "SUSPEND_DISK", "timestamp": { "seconds": 1344456160, "microseconds": 309119 } }""");

        Assert.Equal(VmQuery.Status, vm.Vm.TakeRequests());
        Assert.Equal(1, vm.Value(MetricCatalog.Events.With("event", "SUSPEND_DISK")));
        Assert.Null(vm.Value(RunStateMapping.Stops));

        vm.Reply<RunStateMapping>("""{"running": false, "status": "shutdown"}""");
        Assert.Equal(0, vm.Value(RunStateMapping.VmRunning));
        Assert.Equal(1, vm.Value(RunStateMapping.VmStatus.With("status", "shutdown")));
    }

    [Fact]
    public void Powerdown_is_counted_as_an_event_and_changes_nothing_else()
    {
        // qapi/run-state.json example: an ACPI power button press was sent to the guest, which may ignore it.
        vm.Reply<RunStateMapping>("""{"running": true, "status": "running"}""");
        var series = vm.Series.SeriesCount;
        vm.Event("""{ "event": "POWERDOWN", "timestamp": { "seconds": 1267040730, "microseconds": 682951 } }""");

        Assert.Equal(1, vm.Value(MetricCatalog.Events.With("event", "POWERDOWN")));
        Assert.Equal(1267040730.682951, vm.Value(MetricCatalog.LastEventTimestamp)!.Value, 6);
        Assert.Equal(VmQuery.None, vm.Vm.TakeRequests());
        Assert.Equal(1, vm.Value(RunStateMapping.VmRunning));
        Assert.Equal(series + 2, vm.Series.SeriesCount);
    }
}
