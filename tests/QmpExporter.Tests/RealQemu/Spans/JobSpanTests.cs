using System.Diagnostics;
using QmpExporter.Spans;
using QmpExporter.Telemetry;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.RealQemu.Spans;

/// <summary>qemu.block_job spans of real block jobs, compared with the control monitor's events of each job.</summary>
public sealed class JobSpanTests : IDisposable
{
    private readonly SpanCollector spans = new();

    public void Dispose() => spans.Dispose();

    [Fact]
    public async Task A_throttled_stream_is_one_span_with_the_control_monitors_events_and_timestamps()
    {
        await using var rig = await JobRig.StartAsync("sstream");
        const string job = "job-stream";

        await rig.Qemu.ExecuteAsync("block-stream", $$"""{"job-id": "{{job}}", "device": "top", "speed": 2097152}""");
        await rig.Exporter.WaitForAsync(s => s.Job(rig.Vm, "qemu_block_job_offset_bytes", job, "stream") is > 0 and < QemuRecipes.JobImageBytes, "the job seen mid-way");
        await rig.Qemu.WaitForJobStatusAsync(job, "null");
        await spans.WaitForSpanAsync(QmpTracing.JobSpan, rig.Vm);

        var span = JobSpanTruth.AssertJobSpan(spans, rig.Vm, rig.Qemu, job, "stream", "completed");
        Assert.Equal(["created", "running", "waiting", "pending"],
            span.Events.Where(e => e.Name == "JOB_STATUS_CHANGE").Select(e => (string?)e.Tags.Single(t => t.Key == QmpTracing.JobStatus).Value));
        Assert.Equal("BLOCK_JOB_COMPLETED", span.Events.Last().Name);
        Assert.Equal(span.GetTagItem(QmpTracing.JobLen), span.GetTagItem(QmpTracing.JobOffset));
        Assert.Equal(ActivityStatusCode.Unset, span.Status);
    }

    [Fact]
    public async Task A_cancelled_stream_ends_its_span_as_cancelled()
    {
        await using var rig = await JobRig.StartAsync("scancel");
        const string job = "job-cancel";

        await rig.Qemu.ExecuteAsync("block-stream", $$"""{"job-id": "{{job}}", "device": "top", "speed": 1048576}""");
        await rig.Qemu.WaitForJobStatusAsync(job, "running");
        await rig.Qemu.ExecuteAsync("block-job-cancel", $$"""{"device": "{{job}}"}""");
        await rig.Qemu.WaitForJobStatusAsync(job, "null");
        await spans.WaitForSpanAsync(QmpTracing.JobSpan, rig.Vm);

        var span = JobSpanTruth.AssertJobSpan(spans, rig.Vm, rig.Qemu, job, "stream", "cancelled");
        Assert.Equal("BLOCK_JOB_CANCELLED", span.Events.Last().Name);
        Assert.NotEqual(ActivityStatusCode.Error, span.Status);
    }

    [Fact]
    public async Task A_mirror_that_fails_on_its_blkdebug_target_has_error_status_and_its_job_errors_as_events()
    {
        await using var rig = await JobRig.StartAsync("sfail", scratch => JobRig.FailingTargetAsync(scratch, "tgt", new BlkdebugRule("write_aio", BlkdebugRule.Eio)));
        const string job = "job-fail";

        await rig.Qemu.ExecuteAsync("blockdev-mirror", $$"""{"job-id": "{{job}}", "device": "top", "target": "tgt", "sync": "full", "on-target-error": "report"}""");
        await rig.Qemu.WaitForJobStatusAsync(job, "null");
        await spans.WaitForSpanAsync(QmpTracing.JobSpan, rig.Vm);

        var span = JobSpanTruth.AssertJobSpan(spans, rig.Vm, rig.Qemu, job, "mirror", "failed");
        Assert.Equal(ActivityStatusCode.Error, span.Status);
        Assert.Equal(rig.Qemu.FinalJobEvent(job).Str("error"), span.StatusDescription);
        var errors = span.Events.Where(e => e.Name == "BLOCK_JOB_ERROR").ToList();
        Assert.NotEmpty(errors);
        Assert.Equal(rig.Qemu.ControlCounts()["BLOCK_JOB_ERROR"], errors.Count);
        Assert.All(errors, e =>
        {
            Assert.Equal("write", e.Tags.Single(t => t.Key == QmpTracing.BlockOperation).Value);
            Assert.Equal("report", e.Tags.Single(t => t.Key == QmpTracing.BlockAction).Value);
        });
    }
}
