using System.Text.Json;
using QmpExporter.Qmp;
using QmpExporter.Spans;
using QmpExporter.Telemetry;

namespace QmpExporter.Mappings;

/// <summary>
/// Block jobs (qapi/block-core.json, qapi/job.json): BLOCK_JOB_COMPLETED, _CANCELLED, _ERROR, _READY, _PENDING and
/// JOB_STATUS_CHANGE, with query-block-jobs after every (re)connect and while jobs run, so that <c>offset</c> moves
/// between events. The <c>device</c> member of BLOCK_JOB_* events is the job id (since QEMU 2.7).
/// </summary>
internal sealed class BlockJobMapping : IEventMapping, IStateQuery
{
    public const string Completed = "BLOCK_JOB_COMPLETED";
    public const string Cancelled = "BLOCK_JOB_CANCELLED";
    public const string Error = "BLOCK_JOB_ERROR";
    public const string Ready = "BLOCK_JOB_READY";
    public const string Pending = "BLOCK_JOB_PENDING";
    public const string JobStatusChange = "JOB_STATUS_CHANGE";

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
            vm.Series.Set(MetricCatalog.BlockJobReady, new SeriesKey(job, type), EventData.Bool(info, "ready") == true ? 1 : 0);
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
                SetProgress(vm.Series, job, type, offset, len, EventData.Long(data, "speed"u8));
                var error = EventData.Text(data, "error"u8);
                var result = evt.Name == Cancelled ? "cancelled" : error is null ? "completed" : "failed";
                vm.Series.Add(MetricCatalog.BlockJobsFinished, new SeriesKey(type, result));
                vm.Jobs.SpanEvent(job, evt.Name, evt.Timestamp);
                vm.Jobs.Finished(job, type, vm.Time.GetUtcNow(), evt.Timestamp, new JobOutcome(result, offset, len, error));
                break;
            }

            case Error:
            {
                var operation = EventData.EnumString(data, "operation"u8) ?? "";
                var action = EventData.EnumString(data, "action"u8) ?? "";
                vm.Series.Add(MetricCatalog.BlockJobErrors, new SeriesKey(operation, action));
                if (vm.Spans.Enabled && EventData.Name(data, "device"u8) is { } job)
                {
                    vm.Jobs.SpanEvent(job, Error, evt.Timestamp, new() { [QmpTracing.BlockOperation] = operation, [QmpTracing.BlockAction] = action });
                }

                vm.Request(VmQuery.BlockJobs);
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
                vm.Series.Set(MetricCatalog.BlockJobReady, new SeriesKey(job, type), 1);
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
            case "created" or "paused" or "ready" or "running":
                vm.Request(VmQuery.BlockJobs);
                break;
        }
    }

    private static void SetProgress(VmSeries series, string job, string type, long? offset, long? len, long? speed)
    {
        var key = new SeriesKey(job, type);
        if (offset is { } o)
        {
            series.Set(MetricCatalog.BlockJobOffset, key, o);
        }

        if (len is { } l)
        {
            series.Set(MetricCatalog.BlockJobLen, key, l);
        }

        if (speed is { } s)
        {
            series.Set(MetricCatalog.BlockJobSpeed, key, s);
        }

        if (series.Get(MetricCatalog.BlockJobReady, key) is null)
        {
            series.Set(MetricCatalog.BlockJobReady, key, 0);
        }
    }
}
