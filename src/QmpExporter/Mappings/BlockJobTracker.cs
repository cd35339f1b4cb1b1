using System.Diagnostics;
using System.Runtime.InteropServices;
using QmpExporter.Spans;
using QmpExporter.Telemetry;

namespace QmpExporter.Mappings;

/// <summary>
/// The block jobs of one VM: which run (so query-block-jobs is polled), their types (JOB_STATUS_CHANGE does not carry
/// one), their spans, and when finished ones lose their gauges. Every job brings a new <c>job</c> label value, so a
/// finished job's series are removed after the retention period instead of piling up. Lives as long as the VM's
/// session: a job that outlives a reconnect keeps its one span.
/// </summary>
internal sealed class BlockJobTracker(string vm, VmSeries series, SpanSource spans)
{
    private readonly Lock gate = new();
    private readonly Dictionary<string, Job> jobs = new(StringComparer.Ordinal);

    public bool AnyActive
    {
        get
        {
            lock (gate)
            {
                return jobs.Values.Any(j => j.FinishedAt is null);
            }
        }
    }

    /// <summary>True when the job is known and has not finished.</summary>
    public bool IsRunning(string id)
    {
        lock (gate)
        {
            return jobs.TryGetValue(id, out var job) && job.FinishedAt is null;
        }
    }

    /// <summary>
    /// Records a job as running; a new one (or a finished id used again, as libvirt does) starts a span at
    /// <paramref name="seenAt"/>. <paramref name="type"/> when known.
    /// </summary>
    public void Running(string id, string? type, DateTimeOffset seenAt)
    {
        lock (gate)
        {
            if (!jobs.ContainsKey(id) && !MakeRoom())
            {
                return;
            }

            ref var job = ref CollectionsMarshal.GetValueRefOrAddDefault(jobs, id, out var known);
            if (!known || job.FinishedAt is not null)
            {
                job = new Job(type, null, spans.StartRoot(QmpTracing.JobSpan, seenAt, vm), job.LastEvent);
                job.Span?.SetTag(QmpTracing.JobId, QmpTracing.Cut(id));
            }
            else if (type is not null && job.Type is null)
            {
                job = job with { Type = type };
            }

            if (type is not null)
            {
                job.Span?.SetTag(QmpTracing.JobType, type);
            }
        }
    }

    /// <summary>Adds a span event (a status change, READY, an error) to the job's span, at QEMU's time.</summary>
    public void SpanEvent(string id, string name, DateTimeOffset at, ActivityTagsCollection? attributes = null)
    {
        lock (gate)
        {
            if (jobs.TryGetValue(id, out var job) && job.FinishedAt is null)
            {
                QmpTracing.AddEvent(job.Span, new ActivityEvent(name, at, attributes));
            }
        }
    }

    /// <summary>
    /// Marks the job finished at <paramref name="now"/> (our clock, for retention) and ends its span at QEMU's
    /// <paramref name="endedAt"/> with the outcome. A second call for the same run of the job does nothing. False
    /// when the job is not tracked: it was never seen and every tracked job still runs.
    /// </summary>
    public bool Finished(string id, string? type, DateTimeOffset now, DateTimeOffset endedAt, JobOutcome outcome)
    {
        lock (gate)
        {
            if (!jobs.TryGetValue(id, out var job) && !MakeRoom())
            {
                return false;
            }

            if (job.FinishedAt is not null)
            {
                return true;
            }

            jobs[id] = new Job(type ?? job.Type, now, null, job.LastEvent);
            if (job.Span is not { } span)
            {
                return true;
            }

            if (type is not null)
            {
                span.SetTag(QmpTracing.JobType, type);
            }

            span.SetTag(QmpTracing.JobResult, outcome.Result);
            if (outcome.Offset is { } offset)
            {
                span.SetTag(QmpTracing.JobOffset, offset);
            }

            if (outcome.Len is { } len)
            {
                span.SetTag(QmpTracing.JobLen, len);
            }

            if (outcome.Result == "failed")
            {
                span.SetStatus(ActivityStatusCode.Error, outcome.Error);
            }

            QmpTracing.End(span, endedAt);
            return true;
        }
    }

    /// <summary>Records that an event about the job was applied, at the VM's event sequence <paramref name="sequence"/>.</summary>
    public void Touch(string id, long sequence)
    {
        lock (gate)
        {
            if (jobs.TryGetValue(id, out var job))
            {
                jobs[id] = job with { LastEvent = sequence };
            }
        }
    }

    /// <summary>True when an event about the job came after <paramref name="sequence"/>: it is fresher than a reply sent then.</summary>
    public bool HadEventAfter(string id, long sequence)
    {
        lock (gate)
        {
            return jobs.TryGetValue(id, out var job) && job.LastEvent > sequence;
        }
    }

    /// <summary>
    /// Jobs believed to run that a query-block-jobs reply sent at <paramref name="sentAt"/> no longer lists: they
    /// ended unseen. Jobs with an event after that are left to their events.
    /// </summary>
    public void FinishMissing(IReadOnlySet<string> listed, DateTimeOffset now, long sentAt)
    {
        string[] missing;
        lock (gate)
        {
            // A job without a type never was a block job (JOB_STATUS_CHANGE also covers create, amend and snapshot
            // jobs, which query-block-jobs does not list): its own concluded/null event ends it.
            missing = [.. jobs.Where(j => j.Value.FinishedAt is null && j.Value.Type is not null && j.Value.LastEvent <= sentAt && !listed.Contains(j.Key)).Select(j => j.Key)];
        }

        foreach (var id in missing)
        {
            Finished(id, null, now, now, new JobOutcome("unknown", null, null, null));
        }
    }

    /// <summary>Removes the gauges of jobs that finished more than <paramref name="retention"/> ago; returns when the next one is due.</summary>
    public DateTimeOffset? Expire(DateTimeOffset now, TimeSpan retention)
    {
        DateTimeOffset? next = null;
        lock (gate)
        {
            foreach (var (id, job) in jobs.ToArray())
            {
                if (job.FinishedAt is not { } finished)
                {
                    continue;
                }

                if (now - finished >= retention)
                {
                    Forget(id, job);
                }
                else if (next is null || finished + retention < next)
                {
                    next = finished + retention;
                }
            }
        }

        return next;
    }

    /// <summary>Ends the spans of jobs still running: the session is going away.</summary>
    public void EndAllSpans()
    {
        lock (gate)
        {
            foreach (var job in jobs.Values)
            {
                QmpTracing.End(job.Span);
            }
        }
    }

    /// <summary>
    /// Room for one more job id, within the VM's series cap: the job that finished first gives way, since its
    /// gauges only wait out their retention; when every tracked job runs, the new one is dropped and counted.
    /// </summary>
    private bool MakeRoom()
    {
        if (jobs.Count < series.Cap(BlockJobMapping.BlockJobOffset))
        {
            return true;
        }

        string? oldest = null;
        var oldestAt = DateTimeOffset.MaxValue;
        foreach (var (id, job) in jobs)
        {
            if (job.FinishedAt is { } finished && finished < oldestAt)
            {
                (oldest, oldestAt) = (id, finished);
            }
        }

        if (oldest is null)
        {
            series.Add(MetricCatalog.SeriesDropped.With("metric", BlockJobMapping.BlockJobOffset.Name));
            return false;
        }

        Forget(oldest, jobs[oldest]);
        return true;
    }

    private void Forget(string id, Job job)
    {
        jobs.Remove(id);
        if (job.Type is not null)
        {
            foreach (var family in (MetricFamily[])[BlockJobMapping.BlockJobOffset, BlockJobMapping.BlockJobLen, BlockJobMapping.BlockJobSpeed, BlockJobMapping.BlockJobReady])
            {
                series.Remove(family.With("job", id).With("type", job.Type));
            }
        }
    }

    private readonly record struct Job(string? Type, DateTimeOffset? FinishedAt, Activity? Span, long LastEvent);
}

/// <summary>How a job ended: <c>completed</c>, <c>failed</c>, <c>cancelled</c> or <c>unknown</c> (ended while unseen), with its final progress.</summary>
internal readonly record struct JobOutcome(string Result, long? Offset, long? Len, string? Error);
