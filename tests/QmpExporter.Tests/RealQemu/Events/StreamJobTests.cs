using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.RealQemu.Events;

/// <summary>block-stream jobs on a real QEMU: progress while they run, then the outcome counted as the control monitor saw it.</summary>
public sealed class StreamJobTests
{
    private const string Job = "job-stream";

    [Fact]
    public async Task A_throttled_stream_shows_progress_completes_and_its_gauges_expire_while_the_counters_stay()
    {
        await using var rig = await JobRig.StartAsync("stream", null, "--QmpExporter:FinishedJobRetention=00:00:01");
        var (qemu, exporter, a) = (rig.Qemu, rig.Exporter, rig.Vm);

        await qemu.ExecuteAsync("block-stream", $$"""{"job-id": "{{Job}}", "device": "top", "speed": 2097152}""");
        var mid = await exporter.WaitForAsync(
            s => s.Job(a, "qemu_block_job_offset_bytes", Job, "stream") is { } offset && s.Job(a, "qemu_block_job_len_bytes", Job, "stream") is { } len
                 && offset > 0 && offset < len,
            "a scrape with the job's offset strictly between 0 and len");
        Assert.Equal(QemuRecipes.JobImageBytes, mid.Job(a, "qemu_block_job_len_bytes", Job, "stream"));
        Assert.Equal(2097152, mid.Job(a, "qemu_block_job_speed_bytes_per_second", Job, "stream"));
        Assert.Equal(0, mid.Job(a, "qemu_block_job_ready", Job, "stream"));

        await qemu.WaitForJobStatusAsync(Job, "null");
        Assert.Equal(["created", "running", "waiting", "pending", "concluded", "null"],
            qemu.JobEvents(Job).Where(e => e.Name == "JOB_STATUS_CHANGE").Select(e => e.Str("status")));
        var done = await rig.SettleAsync("the completed stream counted", s => rig.FinalProgressDiff(s, Job, "stream"));
        Assert.Equal(1, done.Of(a, "qemu_block_jobs_finished_total", ("type", "stream"), ("result", "completed")));
        Assert.Equal(done.Job(a, "qemu_block_job_len_bytes", Job, "stream"), done.Job(a, "qemu_block_job_offset_bytes", Job, "stream"));

        var expired = await exporter.WaitForAsync(s => !rig.HasJobSeries(s, Job), "the finished job's gauges released after FinishedJobRetention");
        Assert.Equal(1, expired.Of(a, "qemu_block_jobs_finished_total", ("type", "stream"), ("result", "completed")));
        Assert.Null(ControlTruth.Diff("qemu_block_jobs_finished_total", ControlTruth.JobOutcomes(qemu), expired.SeriesOf(a, "qemu_block_jobs_finished_total")));
        RealQemuAssert.EventsMatchControl(expired, a, qemu);
    }

    [Fact]
    public async Task A_cancelled_stream_is_counted_as_cancelled_with_its_final_progress()
    {
        await using var rig = await JobRig.StartAsync("cancel");
        var (qemu, exporter, a) = (rig.Qemu, rig.Exporter, rig.Vm);

        await qemu.ExecuteAsync("block-stream", $$"""{"job-id": "{{Job}}", "device": "top", "speed": 1048576}""");
        await exporter.WaitForAsync(s => s.Job(a, "qemu_block_job_len_bytes", Job, "stream") == QemuRecipes.JobImageBytes, "the running job seen by the exporter");
        await qemu.ExecuteAsync("block-job-cancel", $$"""{"device": "{{Job}}"}""");
        await qemu.WaitForJobStatusAsync(Job, "null");
        Assert.Equal("BLOCK_JOB_CANCELLED", qemu.FinalJobEvent(Job).Name);

        var done = await rig.SettleAsync("the cancelled stream counted", s => rig.FinalProgressDiff(s, Job, "stream"));
        Assert.Equal(1, done.Of(a, "qemu_block_jobs_finished_total", ("type", "stream"), ("result", "cancelled")));
        Assert.Null(done.Of(a, "qemu_block_jobs_finished_total", ("type", "stream"), ("result", "completed")));
    }
}
