using QmpExporter.Mappings;
using QmpExporter.Telemetry;

namespace QmpExporter.Tests.Mappings;

public sealed class BlockJobMappingTests : IDisposable
{
    private readonly MappingHarness vm = new();

    public void Dispose() => vm.Dispose();

    [Fact]
    public void Completed_seed_example_sets_final_progress_and_counts_the_outcome()
    {
        vm.Event("""{ "event": "BLOCK_JOB_COMPLETED", "data": { "type": "stream", "device": "virtio-disk0", "len": 10737418240, "offset": 10737418240, "speed": 0 }, "timestamp": { "seconds": 1267061043, "microseconds": 959568 } }""");

        Assert.Equal(10737418240, vm.Value(BlockJobMapping.BlockJobOffset.With("job", "virtio-disk0").With("type", "stream")));
        Assert.Equal(10737418240, vm.Value(BlockJobMapping.BlockJobLen.With("job", "virtio-disk0").With("type", "stream")));
        Assert.Equal(1, vm.Value(BlockJobMapping.BlockJobsFinished.With("type", "stream").With("result", "completed")));
    }

    [Fact]
    public void Completed_with_error_is_failed_and_cancelled_is_cancelled()
    {
        vm.Event("""{"timestamp": {"seconds": 1795624772, "microseconds": 719622}, "event": "BLOCK_JOB_COMPLETED", "data": {"device": "job-report", "len": 33554432, "offset": 12582912, "speed": 0, "type": "mirror", "error": "Input/output error"}}""");
        vm.Event("""{ "event": "BLOCK_JOB_CANCELLED", "data": { "type": "stream", "device": "virtio-disk0", "len": 10737418240, "offset": 134217728, "speed": 0 }, "timestamp": { "seconds": 1267061043, "microseconds": 959568 } }""");

        Assert.Equal(1, vm.Value(BlockJobMapping.BlockJobsFinished.With("type", "mirror").With("result", "failed")));
        Assert.Equal(12582912, vm.Value(BlockJobMapping.BlockJobOffset.With("job", "job-report").With("type", "mirror")));
        Assert.Equal(1, vm.Value(BlockJobMapping.BlockJobsFinished.With("type", "stream").With("result", "cancelled")));
        Assert.Null(vm.Value(BlockJobMapping.BlockJobsFinished.With("type", "stream").With("result", "completed")));
    }

    [Fact]
    public void Errors_count_by_operation_and_action()
    {
        vm.Event("""{ "event": "BLOCK_JOB_ERROR", "data": { "device": "ide0-hd1", "operation": "write", "action": "stop" }, "timestamp": { "seconds": 1265044230, "microseconds": 450486 } }""");
        vm.Event("""{ "event": "BLOCK_JOB_ERROR", "data": { "device": "ide0-hd1", "operation": "write", "action": "stop" }, "timestamp": { "seconds": 1265044231, "microseconds": 450486 } }""");

        Assert.Equal(2, vm.Value(BlockJobMapping.BlockJobErrors.With("operation", "write").With("action", "stop")));
    }

    [Fact]
    public void Ready_sets_ready()
    {
        vm.Event("""{ "event": "BLOCK_JOB_READY", "data": { "device": "drive0", "type": "mirror", "speed": 0, "len": 2097152, "offset": 2097152 }, "timestamp": { "seconds": 1265044230, "microseconds": 450486 } }""");

        Assert.Equal(1, vm.Value(BlockJobMapping.BlockJobReady.With("job", "drive0").With("type", "mirror")));
        Assert.Equal(2097152, vm.Value(BlockJobMapping.BlockJobOffset.With("job", "drive0").With("type", "mirror")));
    }

    [Fact]
    public void Created_job_is_polled_until_it_ends_and_its_gauges_expire_after_retention()
    {
        var polling = new PollSettings(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(15), TimeSpan.FromMinutes(5));
        var query = EventMappings.Queries.OfType<BlockJobMapping>().Single();
        Assert.Null(query.PollInterval(vm.Vm, polling));

        vm.Event("""{"timestamp": {"seconds": 1795624768, "microseconds": 866336}, "event": "JOB_STATUS_CHANGE", "data": {"status": "created", "id": "job-stream"}}""");
        Assert.True(vm.Vm.TakeRequests().HasFlag(VmQuery.BlockJobs));
        Assert.Equal(TimeSpan.FromSeconds(1), query.PollInterval(vm.Vm, polling));

        vm.Reply<BlockJobMapping>("""[{"auto-finalize": true, "io-status": "ok", "device": "job-stream", "auto-dismiss": true, "busy": false, "len": 33554432, "offset": 1048576, "status": "running", "paused": false, "speed": 4194304, "ready": false, "type": "stream"}]""");
        Assert.Equal(1048576, vm.Value(BlockJobMapping.BlockJobOffset.With("job", "job-stream").With("type", "stream")));
        Assert.Equal(4194304, vm.Value(BlockJobMapping.BlockJobSpeed.With("job", "job-stream").With("type", "stream")));
        Assert.Equal(0, vm.Value(BlockJobMapping.BlockJobReady.With("job", "job-stream").With("type", "stream")));

        vm.Event("""{"timestamp": {"seconds": 1795624769, "microseconds": 623591}, "event": "BLOCK_JOB_COMPLETED", "data": {"device": "job-stream", "len": 33554432, "offset": 33554432, "speed": 4194304, "type": "stream"}}""");
        vm.Event("""{"timestamp": {"seconds": 1795624769, "microseconds": 623600}, "event": "JOB_STATUS_CHANGE", "data": {"status": "concluded", "id": "job-stream"}}""");
        Assert.Null(query.PollInterval(vm.Vm, polling));

        vm.Time.Advance(TimeSpan.FromMinutes(4));
        vm.Vm.Jobs.Expire(vm.Time.GetUtcNow(), polling.FinishedJobRetention);
        Assert.Equal(33554432, vm.Value(BlockJobMapping.BlockJobOffset.With("job", "job-stream").With("type", "stream")));

        vm.Time.Advance(TimeSpan.FromMinutes(1));
        vm.Vm.Jobs.Expire(vm.Time.GetUtcNow(), polling.FinishedJobRetention);
        Assert.Equal(0, vm.Count(BlockJobMapping.BlockJobOffset));
        Assert.Equal(0, vm.Count(BlockJobMapping.BlockJobLen));
        Assert.Equal(0, vm.Count(BlockJobMapping.BlockJobSpeed));
        Assert.Equal(0, vm.Count(BlockJobMapping.BlockJobReady));
        Assert.Equal(1, vm.Value(BlockJobMapping.BlockJobsFinished.With("type", "stream").With("result", "completed")));
        Assert.True(vm.Registry.RetiredSeries >= 4);
    }

    [Fact]
    public void A_job_that_vanished_while_disconnected_ends_without_an_outcome()
    {
        vm.Reply<BlockJobMapping>("""[{"device": "job-a", "type": "mirror", "len": 10, "offset": 5, "speed": 0, "ready": false, "status": "running"}]""");
        vm.Reply<BlockJobMapping>("[]");

        Assert.False(vm.Vm.Jobs.AnyActive);
        Assert.Equal(5, vm.Value(BlockJobMapping.BlockJobOffset.With("job", "job-a").With("type", "mirror")));
        Assert.Equal(0, vm.Count(BlockJobMapping.BlockJobsFinished));
    }

    [Fact]
    public void Pending_of_an_unseen_job_makes_it_running_so_query_block_jobs_is_polled()
    {
        // qapi/block-core.json example: a transactional job finished its work and waits to be finalized.
        var polling = new PollSettings(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5));
        var query = EventMappings.Queries.OfType<BlockJobMapping>().Single();
        Assert.Null(query.PollInterval(vm.Vm, polling));

        vm.Event("""{ "event": "BLOCK_JOB_PENDING", "data": { "type": "mirror", "id": "backup_1" }, "timestamp": { "seconds": 1265044230, "microseconds": 450486 } }""");

        Assert.Equal(1, vm.Value(MetricCatalog.Events.With("event", "BLOCK_JOB_PENDING")));
        Assert.True(vm.Vm.Jobs.AnyActive);
        Assert.Equal(TimeSpan.FromSeconds(1), query.PollInterval(vm.Vm, polling));

        // Its end comes as BLOCK_JOB_COMPLETED, with the type PENDING gave.
        vm.Event("""{ "event": "BLOCK_JOB_COMPLETED", "data": { "type": "mirror", "device": "backup_1", "len": 1048576, "offset": 1048576, "speed": 0 }, "timestamp": { "seconds": 1265044231, "microseconds": 0 } }""");
        Assert.False(vm.Vm.Jobs.AnyActive);
        Assert.Equal(1, vm.Value(BlockJobMapping.BlockJobsFinished.With("type", "mirror").With("result", "completed")));
    }
}
