using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.RealQemu.Events;

/// <summary>Mirror and commit jobs on a real QEMU: READY, errors on a blkdebug target, failure, completion.</summary>
public sealed class MirrorJobTests
{
    [Fact]
    public async Task A_mirror_to_a_failing_target_fails_and_each_job_error_is_counted_by_operation_and_action()
    {
        await using var rig = await JobRig.StartAsync("mfail", async scratch =>
        [
            .. await JobRig.FailingTargetAsync(scratch, "tgt", new BlkdebugRule("write_aio", BlkdebugRule.Eio)),
            .. await JobRig.FailingTargetAsync(scratch, "tgt2", new BlkdebugRule("write_aio", BlkdebugRule.Eio, Once: true)),
        ]);
        var (qemu, exporter, a) = (rig.Qemu, rig.Exporter, rig.Vm);

        await qemu.ExecuteAsync("blockdev-mirror", """{"job-id": "job-fail", "device": "top", "target": "tgt", "sync": "full", "on-target-error": "report"}""");
        await qemu.WaitForJobStatusAsync("job-fail", "null");
        var failed = qemu.FinalJobEvent("job-fail");
        Assert.Equal("BLOCK_JOB_COMPLETED", failed.Name);
        Assert.NotNull(failed.Str("error"));

        // on-target-error ignore: the job carries on to READY; cancelled after READY, QEMU reports it COMPLETED.
        await qemu.ExecuteAsync("blockdev-mirror", """{"job-id": "job-ignore", "device": "top", "target": "tgt2", "sync": "full", "on-target-error": "ignore"}""");
        await qemu.WaitForEventAsync("BLOCK_JOB_READY", d => d.GetProperty("device").GetString() == "job-ignore");
        await qemu.ExecuteAsync("block-job-cancel", """{"device": "job-ignore"}""");
        await qemu.WaitForJobStatusAsync("job-ignore", "null");

        var done = await rig.SettleAsync("both mirrors counted", s => rig.FinalProgressDiff(s, "job-fail", "mirror") ?? rig.FinalProgressDiff(s, "job-ignore", "mirror"));
        Assert.Equal(1, done.Of(a, "qemu_block_jobs_finished_total", ("type", "mirror"), ("result", "failed")));
        Assert.Equal(1, done.Of(a, "qemu_block_jobs_finished_total", ("type", "mirror"), ("result", "completed")));
        Assert.True(done.Of(a, "qemu_block_job_errors_total", ("operation", "write"), ("action", "report")) >= 1);
        Assert.Equal(1, done.Of(a, "qemu_block_job_errors_total", ("operation", "write"), ("action", "ignore")));
        Assert.Equal(qemu.ControlCounts()["BLOCK_JOB_ERROR"], done.SeriesOf(a, "qemu_block_job_errors_total").Values.Sum());
    }

    [Fact]
    public async Task A_mirror_paused_by_a_stop_error_resumes_becomes_ready_and_completes()
    {
        await using var rig = await JobRig.StartAsync("mready", scratch => JobRig.FailingTargetAsync(scratch, "tgt", new BlkdebugRule("write_aio", BlkdebugRule.Eio, Once: true)));
        var (qemu, exporter, a) = (rig.Qemu, rig.Exporter, rig.Vm);
        const string job = "job-mirror";

        await qemu.ExecuteAsync("blockdev-mirror", $$"""{"job-id": "{{job}}", "device": "top", "target": "tgt", "sync": "full", "on-target-error": "stop"}""");
        await qemu.WaitForJobStatusAsync(job, "paused");
        await rig.SettleAsync("the stop error counted while the job is paused",
            s => s.Of(a, "qemu_block_job_errors_total", ("operation", "write"), ("action", "stop")) == 1 ? null : "no write/stop job error yet");

        await qemu.ExecuteAsync("block-job-resume", $$"""{"device": "{{job}}"}""");
        await qemu.WaitForEventAsync("BLOCK_JOB_READY", d => d.GetProperty("device").GetString() == job);
        var ready = await rig.SettleAsync("the job ready", s => s.Job(a, "qemu_block_job_ready", job, "mirror") == 1 ? null : "qemu_block_job_ready is not 1");
        Assert.True((await qemu.ExecuteAsync("query-block-jobs")).EnumerateArray().Single().GetProperty("ready").GetBoolean());
        Assert.Equal(QemuRecipes.JobImageBytes, ready.Job(a, "qemu_block_job_offset_bytes", job, "mirror"));
        Assert.Null(ready.Of(a, "qemu_block_jobs_finished_total", ("type", "mirror"), ("result", "completed")));

        await qemu.ExecuteAsync("block-job-complete", $$"""{"device": "{{job}}"}""");
        await qemu.WaitForJobStatusAsync(job, "null");
        Assert.Equal("BLOCK_JOB_COMPLETED", qemu.FinalJobEvent(job).Name);
        var done = await rig.SettleAsync("the mirror completed", s => rig.FinalProgressDiff(s, job, "mirror"));
        Assert.Equal(1, done.Of(a, "qemu_block_jobs_finished_total", ("type", "mirror"), ("result", "completed")));
    }

    [Fact]
    public async Task An_active_commit_becomes_ready_and_completes()
    {
        await using var rig = await JobRig.StartAsync("commit");
        var (qemu, exporter, a) = (rig.Qemu, rig.Exporter, rig.Vm);
        const string job = "job-commit";

        await qemu.ExecuteAsync("block-commit", $$"""{"job-id": "{{job}}", "device": "top"}""");
        await qemu.WaitForEventAsync("BLOCK_JOB_READY", d => d.GetProperty("device").GetString() == job);
        await rig.SettleAsync("the commit ready", s => s.Job(a, "qemu_block_job_ready", job, "commit") == 1 ? null : "qemu_block_job_ready is not 1");

        await qemu.ExecuteAsync("block-job-complete", $$"""{"device": "{{job}}"}""");
        await qemu.WaitForJobStatusAsync(job, "null");
        var done = await rig.SettleAsync("the commit completed", s => rig.FinalProgressDiff(s, job, "commit"));
        Assert.Equal(1, done.Of(a, "qemu_block_jobs_finished_total", ("type", "commit"), ("result", "completed")));
    }
}
