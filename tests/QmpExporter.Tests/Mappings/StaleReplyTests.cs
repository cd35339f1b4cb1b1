using QmpExporter.Mappings;
using QmpExporter.Telemetry;

namespace QmpExporter.Tests.Mappings;

/// <summary>
/// QEMU 7.2 can write a query reply that predates events it already sent (measured: query-block-jobs listing a job as
/// running after its BLOCK_JOB_COMPLETED and null; query-migrate saying active after MIGRATION failed). What had an
/// event after the query was sent keeps the event's word.
/// </summary>
public sealed class StaleReplyTests : IDisposable
{
    private readonly MappingHarness vm = new(recordSpans: true);

    public void Dispose() => vm.Dispose();

    [Fact]
    public void A_job_reply_older_than_the_jobs_end_does_not_reopen_it()
    {
        vm.Event("""{"timestamp": {"seconds": 1, "microseconds": 0}, "event": "JOB_STATUS_CHANGE", "data": {"status": "created", "id": "job-fail"}}""");
        var sentAt = vm.Vm.EventSequence;
        vm.Event("""{"timestamp": {"seconds": 1, "microseconds": 20}, "event": "BLOCK_JOB_COMPLETED", "data": {"device": "job-fail", "len": 33554432, "offset": 12582912, "speed": 0, "type": "mirror", "error": "Input/output error"}}""");
        vm.Event("""{"timestamp": {"seconds": 1, "microseconds": 30}, "event": "JOB_STATUS_CHANGE", "data": {"status": "null", "id": "job-fail"}}""");

        vm.Reply<BlockJobMapping>("""[{"device": "job-fail", "type": "mirror", "len": 33554432, "offset": 4194304, "speed": 0, "ready": false, "status": "running"}]""", sentAt);

        Assert.False(vm.Vm.Jobs.AnyActive);
        Assert.Equal(12582912, vm.Value(BlockJobMapping.BlockJobOffset.With("job", "job-fail").With("type", "mirror")));
    }

    [Fact]
    public void A_job_created_while_the_query_ran_is_not_finished_by_its_absence()
    {
        var sentAt = vm.Vm.EventSequence;
        vm.Event("""{"timestamp": {"seconds": 1, "microseconds": 0}, "event": "JOB_STATUS_CHANGE", "data": {"status": "created", "id": "job-new"}}""");

        vm.Reply<BlockJobMapping>("[]", sentAt);

        Assert.True(vm.Vm.Jobs.AnyActive);
    }

    [Fact]
    public void A_reused_job_id_after_its_end_is_a_new_job()
    {
        vm.Event("""{"timestamp": {"seconds": 1, "microseconds": 0}, "event": "BLOCK_JOB_COMPLETED", "data": {"device": "drive-virtio-disk0", "len": 10, "offset": 10, "speed": 0, "type": "mirror"}}""");

        vm.Reply<BlockJobMapping>("""[{"device": "drive-virtio-disk0", "type": "mirror", "len": 20, "offset": 5, "speed": 0, "ready": false, "status": "running"}]""");

        Assert.True(vm.Vm.Jobs.AnyActive);
        Assert.Equal(5, vm.Value(BlockJobMapping.BlockJobOffset.With("job", "drive-virtio-disk0").With("type", "mirror")));
    }

    [Fact]
    public void A_migrate_reply_older_than_the_failure_keeps_the_failure_and_asks_again()
    {
        vm.Event("""{"timestamp": {"seconds": 1, "microseconds": 0}, "event": "MIGRATION", "data": {"status": "setup"}}""");
        vm.Event("""{"timestamp": {"seconds": 1, "microseconds": 1}, "event": "MIGRATION", "data": {"status": "active"}}""");
        var sentAt = vm.Vm.EventSequence;
        vm.Event("""{"timestamp": {"seconds": 1795624785, "microseconds": 419550}, "event": "MIGRATION", "data": {"status": "failed"}}""");
        vm.Vm.TakeRequests();
        var wakeUps = vm.Requests;

        vm.Reply<MigrationMapping>("""{"status": "active", "ram": {"dirty-sync-count": 1}}""", sentAt);

        Assert.Equal(1, vm.Value(MigrationMapping.MigrationStatus.With("status", "failed")));
        Assert.Equal(0, vm.Value(MigrationMapping.MigrationStatus.With("status", "active")));
        Assert.False(vm.Vm.MigrationActive);

        // The migration's span still waits for the final figures: query-migrate again, and the session is woken for it.
        Assert.Equal(VmQuery.Migration, vm.Vm.TakeRequests());
        Assert.Equal(wakeUps + 1, vm.Requests);

        vm.Reply<MigrationMapping>("""{"status": "failed", "total-time": 120, "ram": {"dirty-sync-count": 1}}""");
        Assert.Equal(VmQuery.None, vm.Vm.TakeRequests());
    }

    [Fact]
    public void A_status_reply_older_than_a_run_state_event_waits_for_the_next_one()
    {
        vm.Reply<RunStateMapping>("""{"running": true, "status": "running"}""");
        var sentAt = vm.Vm.EventSequence;
        vm.Event("""{"timestamp": {"seconds": 1, "microseconds": 0}, "event": "STOP"}""");

        vm.Reply<RunStateMapping>("""{"running": true, "status": "running"}""", sentAt);
        Assert.Equal(0, vm.Value(RunStateMapping.VmRunning));

        vm.Reply<RunStateMapping>("""{"running": false, "status": "paused"}""");
        Assert.Equal(1, vm.Value(RunStateMapping.VmStatus.With("status", "paused")));
    }
}
