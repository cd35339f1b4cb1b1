using QmpExporter.Mappings;
using QmpExporter.Telemetry;

namespace QmpExporter.Tests.Mappings;

public sealed class DeviceAndGuestMappingTests : IDisposable
{
    private readonly MappingHarness vm = new();

    public void Dispose() => vm.Dispose();

    [Fact]
    public void Tray_follows_events_and_query_block()
    {
        vm.Event("""{ "event": "DEVICE_TRAY_MOVED", "data": { "device": "ide1-cd0", "id": "/machine/unattached/device[22]", "tray-open": true }, "timestamp": { "seconds": 1265044230, "microseconds": 450486 } }""");
        Assert.Equal(1, vm.Value(BlockDeviceMapping.TrayOpen.With("device", "ide1-cd0").With("id", "/machine/unattached/device[22]")));

        vm.Event("""{"timestamp": {"seconds": 1795624773, "microseconds": 816195}, "event": "DEVICE_TRAY_MOVED", "data": {"device": "", "tray-open": false, "id": "cd0"}}""");
        Assert.Equal(0, vm.Value(BlockDeviceMapping.TrayOpen.With("device", "").With("id", "cd0")));

        vm.Reply<BlockDeviceMapping>("""[{"device": "", "qdev": "cd0", "removable": true, "locked": false, "tray_open": true, "type": "unknown"}, {"device": "hd0", "qdev": "ide0", "removable": false, "locked": false, "type": "unknown"}]""");
        Assert.Equal(1, vm.Value(BlockDeviceMapping.TrayOpen.With("device", "").With("id", "cd0")));
        Assert.Null(vm.Value(BlockDeviceMapping.TrayOpen.With("device", "hd0").With("id", "ide0")));
    }

    [Fact]
    public void Dumps_count_by_result_and_keep_the_last_size()
    {
        vm.Event("""{ "event": "DUMP_COMPLETED", "data": {"result": {"total": 1090650112, "status": "completed", "completed": 1090650112} }, "timestamp": { "seconds": 1, "microseconds": 0 } }""");
        vm.Event("""{"timestamp": {"seconds": 1795624774, "microseconds": 144444}, "event": "DUMP_COMPLETED", "data": {"result": {"total": 134479872, "status": "failed", "completed": 0}, "error": "dump: failed to write elf header: No space left on device"}}""");

        Assert.Equal(1, vm.Value(GuestEventsMapping.Dumps.With("result", "completed")));
        Assert.Equal(1, vm.Value(GuestEventsMapping.Dumps.With("result", "failed")));
        Assert.Equal(134479872, vm.Value(GuestEventsMapping.DumpLastBytes));
    }

    [Fact]
    public void Guest_panics_count_by_action_and_ask_for_status()
    {
        vm.Event("""{ "event": "GUEST_PANICKED", "data": { "action": "pause" }, "timestamp": { "seconds": 1648245231, "microseconds": 900001 } }""");

        Assert.Equal(1, vm.Value(GuestEventsMapping.GuestPanics.With("action", "pause")));
        Assert.True(vm.Vm.TakeRequests().HasFlag(VmQuery.Status));
    }

    [Fact]
    public void Quorum_reports_count_reports_and_sectors_per_node_and_type()
    {
        vm.Event("""{ "event": "QUORUM_REPORT_BAD", "data": { "node-name": "node0", "sector-num": 345435, "sectors-count": 5, "type": "read" }, "timestamp": { "seconds": 1344522075, "microseconds": 745528 } }""");
        vm.Event("""{ "event": "QUORUM_REPORT_BAD", "data": { "node-name": "node0", "sector-num": 0, "sectors-count": 2097120, "type": "flush", "error": "Broken pipe" }, "timestamp": { "seconds": 1456406829, "microseconds": 291763 } }""");
        vm.Event("""{ "event": "QUORUM_FAILURE", "data": { "reference": "usr1", "sector-num": 345435, "sectors-count": 5 }, "timestamp": { "seconds": 1344522075, "microseconds": 745528 } }""");

        Assert.Equal(1, vm.Value(QuorumMapping.QuorumBadReports.With("node_name", "node0").With("type", "read")));
        Assert.Equal(5, vm.Value(QuorumMapping.QuorumBadSectors.With("node_name", "node0").With("type", "read")));
        Assert.Equal(2097120, vm.Value(QuorumMapping.QuorumBadSectors.With("node_name", "node0").With("type", "flush")));
        Assert.Equal(1, vm.Value(QuorumMapping.QuorumFailures));
    }

    [Fact]
    public void Unknown_events_are_counted_by_name()
    {
        vm.Event("""{"timestamp": {"seconds": 1795624775, "microseconds": 436783}, "event": "RTC_CHANGE", "data": {"offset": 600, "qom-path": "/machine/unattached/device[9]"}}""");

        Assert.Equal(1, vm.Value(MetricCatalog.Events.With("event", "RTC_CHANGE")));
    }
}
