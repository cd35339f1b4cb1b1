using QmpExporter.Spans;
using QmpExporter.Telemetry;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.RealQemu.Spans;

/// <summary>
/// A block job that outlives a reconnect of the exporter's QMP session stays one span (README "Traces"). The session
/// is broken for real, without stopping the exporter or QEMU: QEMU is frozen with SIGSTOP while its job is paused, so
/// the exporter's next query-block-jobs poll gets no reply within CommandTimeout and the session reconnects
/// (command_timeout); SIGCONT lets QEMU greet the new connection, whose query-block-jobs finds the job again.
/// </summary>
public sealed class ReconnectSpanTests : IDisposable
{
    private readonly SpanCollector spans = new();

    public void Dispose() => spans.Dispose();

    [Fact]
    public async Task A_job_that_outlives_a_reconnect_of_the_session_stays_one_span()
    {
        await using var rig = await JobRig.StartAsync("sreconn", null,
            "--QmpExporter:CommandTimeout=00:00:00.500", "--QmpExporter:GreetingTimeout=00:00:00.500");
        var (qemu, exporter, a) = (rig.Qemu, rig.Exporter, rig.Vm);
        const string job = "job-reconnect";

        await qemu.ExecuteAsync("block-stream", $$"""{"job-id": "{{job}}", "device": "top", "speed": 4194304}""");
        await qemu.WaitForJobStatusAsync(job, "running");
        await qemu.ExecuteAsync("block-job-pause", $$"""{"device": "{{job}}"}""");
        await qemu.WaitForJobStatusAsync(job, "paused");
        await rig.SettleAsync("the paused job seen", s => s.Job(a, "qemu_block_job_len_bytes", job, "stream") is null ? "job not seen" : null);

        qemu.Freeze();
        try
        {
            var down = await exporter.WaitForAsync(s => s.Of(a, "qmp_disconnects_total") == 1, "the session dropped on a command timeout");
            Assert.Equal(1, down.Of(a, "qmp_protocol_errors_total", ("reason", "command_timeout")));
            Assert.Equal(0, down.Of(a, "qmp_up"));

            // README: while the monitor is disconnected the run state is unknown, so absent rather than stale.
            Assert.Null(down.Of(a, "qemu_vm_running"));
            Assert.Empty(down.SeriesOf(a, "qemu_vm_status"));
        }
        finally
        {
            qemu.Continue();
        }

        var back = await exporter.WaitForAsync(s => s.Of(a, "qmp_up") == 1 && s.Of(a, "qmp_connects_total") == 2, "the session back after SIGCONT");
        Assert.Null(back.StatusDiff(a, await qemu.StatusAsync()));
        Assert.Empty(spans.Spans(QmpTracing.JobSpan, a));

        await qemu.ExecuteAsync("block-job-resume", $$"""{"device": "{{job}}"}""");
        await qemu.WaitForJobStatusAsync(job, "null");
        await spans.WaitForSpanAsync(QmpTracing.JobSpan, a);

        var span = JobSpanTruth.AssertJobSpan(spans, a, qemu, job, "stream", "completed");
        Assert.Contains(span.Events, e => e.Name == "JOB_STATUS_CHANGE" && (string?)e.Tags.Single().Value == "paused");
        Assert.Equal("BLOCK_JOB_COMPLETED", span.Events.Last().Name);

        // Nothing was raised while the session was down: the exporter's counts are still the control's, exactly.
        var scrape = await rig.SettleAsync("the job counted across the reconnect", s => rig.FinalProgressDiff(s, job, "stream"));
        Assert.Equal(1, scrape.Of(a, "qemu_block_jobs_finished_total", ("type", "stream"), ("result", "completed")));
        Assert.Equal(2, scrape.Of(a, "qmp_connects_total"));
        Assert.Equal(1, scrape.Of(a, "qmp_disconnects_total"));
    }
}
