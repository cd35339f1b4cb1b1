using QmpExporter.Mappings;
using QmpExporter.Telemetry;

namespace QmpExporter.Tests.Mappings;

public sealed class BlockIoErrorMappingTests : IDisposable
{
    private readonly MappingHarness vm = new();

    public void Dispose() => vm.Dispose();

    [Fact]
    public void Seed_example_with_auto_node_name_resolves_through_query_block()
    {
        const string seedExample = """{ "event": "BLOCK_IO_ERROR", "data": { "device": "ide0-hd1", "node-name": "#block212", "operation": "write", "action": "stop" }, "timestamp": { "seconds": 1265044230, "microseconds": 450486 } }""";
        vm.Event(seedExample);

        // Not known yet: counted under an empty node name, and query-block is asked for.
        Assert.Equal(1, vm.Value(BlockIoErrorMapping.BlockIoErrors.With("device", "ide0-hd1").With("node_name", "").With("operation", "write").With("action", "stop").With("nospace", "")));
        Assert.True(vm.Vm.TakeRequests().HasFlag(VmQuery.Block));

        vm.Reply<BlockDeviceMapping>("""[{"device": "ide0-hd1", "qdev": "/machine/unattached/device[23]", "locked": false, "removable": false, "type": "unknown", "inserted": {"node-name": "#block212", "drv": "raw", "ro": false, "file": "disk.img"}}]""");
        vm.Event(seedExample);

        Assert.Equal(1, vm.Value(BlockIoErrorMapping.BlockIoErrors.With("device", "ide0-hd1").With("node_name", "ide0-hd1").With("operation", "write").With("action", "stop").With("nospace", "")));
    }

    [Fact]
    public void Blockdev_drive_has_empty_device_and_keeps_user_node_name()
    {
        vm.Event("""{"timestamp": {"seconds": 1795624766, "microseconds": 978320}, "event": "BLOCK_IO_ERROR", "data": {"device": "", "nospace": false, "node-name": "disk0", "reason": "Input/output error", "operation": "read", "action": "stop"}}""");
        vm.Event("""{"timestamp": {"seconds": 1795624767, "microseconds": 956726}, "event": "BLOCK_IO_ERROR", "data": {"device": "drive0", "nospace": true, "node-name": "disk0", "reason": "No space left on device", "operation": "write", "action": "stop"}}""");

        Assert.Equal(1, vm.Value(BlockIoErrorMapping.BlockIoErrors.With("device", "").With("node_name", "disk0").With("operation", "read").With("action", "stop").With("nospace", "false")));
        Assert.Equal(1, vm.Value(BlockIoErrorMapping.BlockIoErrors.With("device", "drive0").With("node_name", "disk0").With("operation", "write").With("action", "stop").With("nospace", "true")));
        Assert.True(vm.Vm.TakeRequests().HasFlag(VmQuery.Status));
    }

    [Fact]
    public void Newer_qom_path_and_missing_node_name_are_accepted()
    {
        vm.Event("""{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "BLOCK_IO_ERROR", "data": {"qom-path": "/machine/peripheral/vd0/virtio-backend", "device": "drive0", "reason": "Input/output error", "operation": "read", "action": "report"}}""");

        Assert.Equal(1, vm.Value(BlockIoErrorMapping.BlockIoErrors.With("device", "drive0").With("node_name", "").With("operation", "read").With("action", "report").With("nospace", "")));
    }

    [Fact]
    public void Series_past_the_cap_are_dropped_and_counted()
    {
        var capped = new MappingHarness(maxSeriesPerVm: 2);
        foreach (var device in new[] { "d1", "d2", "d3", "d3" })
        {
            capped.Event($$$"""{"timestamp": {"seconds": 1, "microseconds": 0}, "event": "BLOCK_IO_ERROR", "data": {"device": "{{{device}}}", "node-name": "n", "reason": "x", "operation": "read", "action": "report"}}""");
        }

        Assert.Equal(2, capped.Count(BlockIoErrorMapping.BlockIoErrors));
        Assert.Equal(2, capped.Value(MetricCatalog.SeriesDropped.With("metric", "qemu_block_io_errors_total")));
    }

    [Fact]
    public void Query_blockstats_gives_failed_operations()
    {
        vm.Reply<BlockStatsQuery>("""[{"device": "", "qdev": "ide0", "node-name": "disk0", "stats": {"failed_rd_operations": 3, "failed_wr_operations": 1, "failed_flush_operations": 0, "failed_unmap_operations": 0, "rd_bytes": 512}}]""");

        Assert.Equal(3, vm.Value(BlockStatsQuery.BlockFailedOperations.With("device", "").With("node_name", "disk0").With("operation", "read")));
        Assert.Equal(1, vm.Value(BlockStatsQuery.BlockFailedOperations.With("device", "").With("node_name", "disk0").With("operation", "write")));
        Assert.Equal(0, vm.Value(BlockStatsQuery.BlockFailedOperations.With("device", "").With("node_name", "disk0").With("operation", "flush")));
    }
}
