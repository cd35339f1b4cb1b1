using System.Text.Json;
using QmpExporter.Qmp;
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

    public VmQuery Query => VmQuery.BlockJobs;

    public string Command => "query-block-jobs";

    public void Apply(in QmpEvent evt, VmContext vm)
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

                SetProgress(vm.Series, job, type, EventData.Long(data, "offset"u8), EventData.Long(data, "len"u8), EventData.Long(data, "speed"u8));
                var result = evt.Name == Cancelled ? "cancelled" : EventData.Text(data, "error"u8) is null ? "completed" : "failed";
                vm.Series.Add(MetricCatalog.BlockJobsFinished, new SeriesKey(type, result));
                vm.Jobs.Finished(job, type, vm.Time.GetUtcNow());
                break;
            }

            case Error:
                vm.Series.Add(MetricCatalog.BlockJobErrors,
                    new SeriesKey(EventData.EnumString(data, "operation"u8) ?? "", EventData.EnumString(data, "action"u8) ?? ""));
                vm.Request(VmQuery.BlockJobs);
                break;
            case Ready:
            {
                if (EventData.Name(data, "device"u8) is not { } job || EventData.EnumString(data, "type"u8) is not { } type)
                {
                    return;
                }

                vm.Jobs.Running(job, type);
                SetProgress(vm.Series, job, type, EventData.Long(data, "offset"u8), EventData.Long(data, "len"u8), EventData.Long(data, "speed"u8));
                vm.Series.Set(MetricCatalog.BlockJobReady, new SeriesKey(job, type), 1);
                break;
            }

            case Pending:
                if (EventData.Name(data, "id"u8) is { } pendingJob)
                {
                    vm.Jobs.Running(pendingJob, EventData.EnumString(data, "type"u8));
                }

                break;
            case JobStatusChange:
                OnStatusChange(data, vm);
                break;
        }
    }

    public TimeSpan? PollInterval(VmContext vm, PollSettings settings) => vm.Jobs.AnyActive ? settings.ActivePollInterval : null;

    /// <summary>Applies a query-block-jobs reply ([BlockJobInfo]).</summary>
    public void Apply(JsonElement result, VmContext vm)
    {
        var listed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var info in EventData.Items(result))
        {
            if (EventData.String(info, "device") is not { } job || EventData.String(info, "type") is not { } type)
            {
                continue;
            }

            listed.Add(job);
            if (EventData.String(info, "status") is "concluded" or "null")
            {
                vm.Jobs.Finished(job, type, vm.Time.GetUtcNow());
            }
            else
            {
                vm.Jobs.Running(job, type);
            }

            SetProgress(vm.Series, job, type, EventData.Long(info, "offset"), EventData.Long(info, "len"), EventData.Long(info, "speed"));
            vm.Series.Set(MetricCatalog.BlockJobReady, new SeriesKey(job, type), EventData.Bool(info, "ready") == true ? 1 : 0);
        }

        vm.Jobs.FinishMissing(listed, vm.Time.GetUtcNow());
    }

    private static void OnStatusChange(ReadOnlySpan<byte> data, VmContext vm)
    {
        if (EventData.Name(data, "id"u8) is not { } job)
        {
            return;
        }

        switch (EventData.EnumString(data, "status"u8))
        {
            case "created":
                vm.Jobs.Running(job, null);
                vm.Request(VmQuery.BlockJobs);
                break;
            case "concluded" or "null":
                vm.Jobs.Finished(job, null, vm.Time.GetUtcNow());
                break;
            case "paused" or "ready" or "running":
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
