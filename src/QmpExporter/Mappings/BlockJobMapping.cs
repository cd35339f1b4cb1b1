using System.Text.Json;
using QmpExporter.Qmp;
using QmpExporter.Spans;
using QmpExporter.Telemetry;

namespace QmpExporter.Mappings;

/// <summary>
/// Block jobs (qapi/block-core.json, qapi/job.json): BLOCK_JOB_COMPLETED, _CANCELLED, _ERROR, _READY, _PENDING and
/// JOB_STATUS_CHANGE, with query-block-jobs after every (re)connect and while jobs run, so that <c>offset</c> moves
/// between events. The <c>device</c> member of BLOCK_JOB_* events is the job id (since QEMU 2.7). Only a job that
/// starts (or one not known to run) asks for query-block-jobs at once: the other status changes and BLOCK_JOB_ERROR
/// tell their own news (an error that pauses or ends the job comes with the status change or completion event).
/// </summary>
internal sealed class BlockJobMapping : IEventMapping, IStateQuery
{
    public const string Completed = "BLOCK_JOB_COMPLETED";
    public const string Cancelled = "BLOCK_JOB_CANCELLED";
    public const string Error = "BLOCK_JOB_ERROR";
    public const string Ready = "BLOCK_JOB_READY";
    public const string Pending = "BLOCK_JOB_PENDING";
    public const string JobStatusChange = "JOB_STATUS_CHANGE";

    // The jobs' tracker goes with the session; a session on a new socket re-queries the jobs that still run.
    public static readonly MetricFamily BlockJobOffset = MetricFamily.Gauge("qemu_block_job_offset_bytes",
        "Progress of a block job (QMP BLOCK_JOB_* events and query-block-jobs, polled while jobs run); equal to qemu_block_job_len_bytes on success. Kept for QmpExporter:FinishedJobRetention after the job ends.", ["job", "type"], MetricFamily.Configured, Teardown.SessionEnded);

    public static readonly MetricFamily BlockJobLen = MetricFamily.Gauge("qemu_block_job_len_bytes",
        "Total work of a block job in bytes (query-block-jobs len); it may grow while the job runs.", ["job", "type"], MetricFamily.Configured, Teardown.SessionEnded);

    public static readonly MetricFamily BlockJobSpeed = MetricFamily.Gauge("qemu_block_job_speed_bytes_per_second",
        "Rate limit of a block job in bytes per second, 0 for unlimited (query-block-jobs speed).", ["job", "type"], MetricFamily.Configured, Teardown.SessionEnded);

    public static readonly MetricFamily BlockJobReady = MetricFamily.Gauge("qemu_block_job_ready",
        "1 once a mirror or active-commit job is ready to complete (QMP BLOCK_JOB_READY, query-block-jobs ready), else 0.", ["job", "type"], MetricFamily.Configured, Teardown.SessionEnded);

    public static readonly MetricFamily BlockJobsFinished = MetricFamily.Counter("qemu_block_jobs_finished_total",
        "Block jobs that ended, by type and result: completed, failed (BLOCK_JOB_COMPLETED with an error) or cancelled (BLOCK_JOB_CANCELLED). A mirror cancelled after it was ready counts as completed, as QEMU reports it.", ["type", "result"], 64);

    public static readonly MetricFamily BlockJobErrors = MetricFamily.Counter("qemu_block_job_errors_total",
        "Errors inside block jobs from the QMP BLOCK_JOB_ERROR event, by operation and the action taken (report, ignore, stop).", ["operation", "action"], 16);

    public IReadOnlyList<MetricFamily> Families { get; } = [BlockJobOffset, BlockJobLen, BlockJobSpeed, BlockJobReady, BlockJobsFinished, BlockJobErrors];

    public IReadOnlyList<string> Events { get; } = [Completed, Cancelled, Error, Ready, Pending, JobStatusChange];

    public bool RecordsOwnSpans => true;

    public VmQuery Query => VmQuery.BlockJobs;

    public string Command => "query-block-jobs";

    public void Apply(in QmpEvent evt, VmContext vm)
    {
        ApplyEvent(evt, vm);
        if (EventData.Name(evt.Data, evt.Name is Pending or JobStatusChange ? "id"u8 : "device"u8) is { } job)
        {
            vm.Jobs.Touch(job, vm.EventSequence);
        }
    }

    public TimeSpan? PollInterval(VmContext vm, PollSettings settings) => vm.Jobs.AnyActive ? settings.ActivePollInterval : null;

    /// <summary>Finished jobs' gauges go after the retention period: every job brings a new <c>job</c> label value.</summary>
    public DateTimeOffset? Due(VmContext vm, DateTimeOffset now, PollSettings settings) => vm.Jobs.Expire(now, settings.FinishedJobRetention);

    public void Removed(VmContext vm) => vm.Jobs.EndAllSpans();

    /// <summary>
    /// Applies a query-block-jobs reply ([BlockJobInfo]). QEMU 7.2 may list a job as running after it already sent
    /// the job's BLOCK_JOB_COMPLETED and JOB_STATUS_CHANGE to null (seen in a few percent of failing mirrors): a job
    /// with an event since the query was sent is left to its events.
    /// </summary>
    public void Apply(JsonElement result, VmContext vm, long sentAt)
    {
        var listed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var info in EventData.Items(result))
        {
            if (EventData.String(info, "device") is not { } job || EventData.String(info, "type") is not { } type)
            {
                continue;
            }

            listed.Add(job);
            if (vm.Jobs.HadEventAfter(job, sentAt))
            {
                continue;
            }

            var now = vm.Time.GetUtcNow();
            if (EventData.String(info, "status") is "concluded" or "null")
            {
                vm.Jobs.Finished(job, type, now, now, new JobOutcome("concluded", EventData.Long(info, "offset"), EventData.Long(info, "len"), null));
            }
            else
            {
                vm.Jobs.Running(job, type, now);
            }

            SetProgress(vm.Series, job, type, EventData.Long(info, "offset"), EventData.Long(info, "len"), EventData.Long(info, "speed"));
            vm.Series.Set(BlockJobReady.With("job", job).With("type", type), EventData.Bool(info, "ready") == true ? 1 : 0);
        }

        vm.Jobs.FinishMissing(listed, vm.Time.GetUtcNow(), sentAt);
    }

    private static void ApplyEvent(in QmpEvent evt, VmContext vm)
    {
        var data = evt.Data;
        switch (evt.Name)
        {
            case Completed or Cancelled:
            {
                if (EventData.Name(data, "device"u8) is not { } job || EventData.EnumString(data, "type"u8) is not { } type)
                {
                    return;
                }

                long? offset = EventData.Long(data, "offset"u8), len = EventData.Long(data, "len"u8);
                var error = EventData.Text(data, "error"u8);
                var result = evt.Name == Cancelled ? "cancelled" : error is null ? "completed" : "failed";
                vm.Series.Add(BlockJobsFinished.With("type", type).With("result", result));
                vm.Jobs.SpanEvent(job, evt.Name, evt.Timestamp);
                if (vm.Jobs.Finished(job, type, vm.Time.GetUtcNow(), evt.Timestamp, new JobOutcome(result, offset, len, error)))
                {
                    SetProgress(vm.Series, job, type, offset, len, EventData.Long(data, "speed"u8));
                }

                break;
            }

            case Error:
            {
                var operation = EventData.EnumString(data, "operation"u8) ?? "";
                var action = EventData.EnumString(data, "action"u8) ?? "";
                vm.Series.Add(BlockJobErrors.With("operation", operation).With("action", action));
                if (vm.Spans.Enabled && EventData.Name(data, "device"u8) is { } job)
                {
                    vm.Jobs.SpanEvent(job, Error, evt.Timestamp, new() { [QmpTracing.BlockOperation] = operation, [QmpTracing.BlockAction] = action });
                }

                break;
            }

            case Ready:
            {
                if (EventData.Name(data, "device"u8) is not { } job || EventData.EnumString(data, "type"u8) is not { } type)
                {
                    return;
                }

                vm.Jobs.Running(job, type, evt.Timestamp);
                vm.Jobs.SpanEvent(job, Ready, evt.Timestamp);
                SetProgress(vm.Series, job, type, EventData.Long(data, "offset"u8), EventData.Long(data, "len"u8), EventData.Long(data, "speed"u8));
                vm.Series.Set(BlockJobReady.With("job", job).With("type", type), 1);
                break;
            }

            case Pending:
                if (EventData.Name(data, "id"u8) is { } pendingJob)
                {
                    vm.Jobs.Running(pendingJob, EventData.EnumString(data, "type"u8), evt.Timestamp);
                    vm.Jobs.SpanEvent(pendingJob, Pending, evt.Timestamp);
                }

                break;
            case JobStatusChange:
                OnStatusChange(evt, vm);
                break;
        }
    }

    private static void OnStatusChange(in QmpEvent evt, VmContext vm)
    {
        if (EventData.Name(evt.Data, "id"u8) is not { } job || EventData.EnumString(evt.Data, "status"u8) is not { } status)
        {
            return;
        }

        var known = vm.Jobs.IsRunning(job);
        if (status == "created")
        {
            vm.Jobs.Running(job, null, evt.Timestamp);
        }

        if (vm.Spans.Enabled)
        {
            vm.Jobs.SpanEvent(job, JobStatusChange, evt.Timestamp, new() { [QmpTracing.JobStatus] = status });
        }

        switch (status)
        {
            case "concluded" or "null":
                vm.Jobs.Finished(job, null, vm.Time.GetUtcNow(), evt.Timestamp, new JobOutcome(status == "null" ? "dismissed" : "concluded", null, null, null));
                break;
            case "created":
            case "paused" or "ready" or "running" when !known:
                vm.Request(VmQuery.BlockJobs);
                break;
        }
    }

    private static void SetProgress(VmSeries series, string job, string type, long? offset, long? len, long? speed)
    {
        if (offset is { } o)
        {
            series.Set(BlockJobOffset.With("job", job).With("type", type), o);
        }

        if (len is { } l)
        {
            series.Set(BlockJobLen.With("job", job).With("type", type), l);
        }

        if (speed is { } s)
        {
            series.Set(BlockJobSpeed.With("job", job).With("type", type), s);
        }

        var ready = BlockJobReady.With("job", job).With("type", type);
        if (series.Get(ready) is null)
        {
            series.Set(ready, 0);
        }
    }
}
