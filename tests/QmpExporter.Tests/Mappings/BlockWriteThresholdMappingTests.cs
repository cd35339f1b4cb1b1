using QmpExporter.Mappings;
using QmpExporter.Telemetry;

namespace QmpExporter.Tests.Mappings;

public sealed class BlockWriteThresholdMappingTests : IDisposable
{
    private readonly MappingHarness vm = new();

    public void Dispose() => vm.Dispose();

    [Fact]
    public void Each_crossing_counts_and_the_last_amount_exceeded_is_kept_by_node()
    {
        // qapi/block-core.json example.
        vm.Event("""{ "event": "BLOCK_WRITE_THRESHOLD", "data": { "node-name": "foo", "amount-exceeded": 65536, "write-threshold": 1073741824 }, "timestamp": { "seconds": 1474457093, "microseconds": 1017 } }""");
        vm.Event("""{ "event": "BLOCK_WRITE_THRESHOLD", "data": { "node-name": "foo", "amount-exceeded": 4096, "write-threshold": 2147483648 }, "timestamp": { "seconds": 1474457094, "microseconds": 0 } }""");

        Assert.Equal(2, vm.Value(BlockWriteThresholdMapping.Exceeded.With("node_name", "foo")));
        Assert.Equal(4096, vm.Value(BlockWriteThresholdMapping.LastExceededBytes.With("node_name", "foo")));
        Assert.Equal(VmQuery.None, vm.Vm.TakeRequests());
    }

    [Fact]
    public void An_auto_generated_node_name_resolves_to_its_drive_or_asks_query_block()
    {
        vm.Event("""{"timestamp": {"seconds": 1, "microseconds": 0}, "event": "BLOCK_WRITE_THRESHOLD", "data": {"node-name": "#block153", "amount-exceeded": 512, "write-threshold": 512}}""");
        Assert.Equal(1, vm.Value(BlockWriteThresholdMapping.Exceeded.With("node_name", "")));
        Assert.Equal(VmQuery.Block, vm.Vm.TakeRequests());

        vm.Reply<BlockDeviceMapping>("""[{"device": "drive0", "qdev": "/machine/peripheral-anon/device[0]", "locked": false, "removable": false, "type": "unknown", "inserted": {"node-name": "#block153", "drv": "raw", "file": "disk.img"}}]""");
        vm.Event("""{"timestamp": {"seconds": 2, "microseconds": 0}, "event": "BLOCK_WRITE_THRESHOLD", "data": {"node-name": "#block153", "amount-exceeded": 1024, "write-threshold": 4096}}""");

        Assert.Equal(1, vm.Value(BlockWriteThresholdMapping.Exceeded.With("node_name", "drive0")));
        Assert.Equal(1024, vm.Value(BlockWriteThresholdMapping.LastExceededBytes.With("node_name", "drive0")));
    }

    [Fact]
    public void The_threshold_set_comes_from_query_named_block_nodes_and_goes_when_it_fires()
    {
        // qapi/block-core.json query-named-block-nodes example (abridged), with a threshold on my-node.
        const string nodes = """
            [{"ro": false, "drv": "qcow2", "encrypted": false, "file": "disks/test.qcow2", "node-name": "my-node", "backing_file_depth": 1, "detect_zeroes": "off", "bps": 1000000, "bps_rd": 0, "bps_wr": 0, "iops": 1000000, "iops_rd": 0, "iops_wr": 0, "write_threshold": 1073741824, "cache": {"writeback": true, "direct": false, "no-flush": false}},
             {"ro": false, "drv": "file", "encrypted": false, "file": "disks/test.qcow2", "node-name": "my-file", "backing_file_depth": 0, "detect_zeroes": "off", "bps": 0, "bps_rd": 0, "bps_wr": 0, "iops": 0, "iops_rd": 0, "iops_wr": 0, "write_threshold": 0, "cache": {"writeback": true, "direct": false, "no-flush": false}}]
            """;
        var sentBeforeTheEvent = vm.Vm.EventSequence;
        vm.Reply<BlockWriteThresholdMapping>(nodes);
        Assert.Equal(1073741824, vm.Value(BlockWriteThresholdMapping.Threshold.With("node_name", "my-node")));
        Assert.Equal(1, vm.Count(BlockWriteThresholdMapping.Threshold));

        vm.Event("""{ "event": "BLOCK_WRITE_THRESHOLD", "data": { "node-name": "my-node", "amount-exceeded": 65536, "write-threshold": 1073741824 }, "timestamp": { "seconds": 1474457093, "microseconds": 1017 } }""");
        Assert.Equal(0, vm.Count(BlockWriteThresholdMapping.Threshold));

        // A reply sent before the event still shows the threshold: the event stands, and the query runs again.
        vm.Reply<BlockWriteThresholdMapping>(nodes, sentAt: sentBeforeTheEvent);
        Assert.Equal(0, vm.Count(BlockWriteThresholdMapping.Threshold));
        Assert.Equal(VmQuery.NamedBlockNodes, vm.Vm.TakeRequests());

        vm.Reply<BlockWriteThresholdMapping>(nodes.Replace("1073741824", "0", StringComparison.Ordinal));
        Assert.Equal(0, vm.Count(BlockWriteThresholdMapping.Threshold));
    }
}
