using QmpExporter.Telemetry;

namespace QmpExporter.Mappings;

/// <summary>
/// The block jobs of one VM: which run (so query-block-jobs is polled), their types (JOB_STATUS_CHANGE does not
/// carry one), and when finished ones lose their gauges. Every job brings a new <c>job</c> label value, so a finished
/// job's series are removed after the retention period instead of piling up.
/// </summary>
internal sealed class BlockJobTracker
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

    /// <summary>Records a job as running (again: job ids are reused, e.g. by libvirt); <paramref name="type"/> when known.</summary>
    public void Running(string id, string? type)
    {
        lock (gate)
        {
            ref var job = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(jobs, id, out _);
            job = new Job(type ?? job.Type, null);
        }
    }

    public string? TypeOf(string id)
    {
        lock (gate)
        {
            return jobs.TryGetValue(id, out var job) ? job.Type : null;
        }
    }

    public void Finished(string id, string? type, DateTimeOffset at)
    {
        lock (gate)
        {
            jobs.TryGetValue(id, out var job);
            if (job.FinishedAt is null)
            {
                jobs[id] = new Job(type ?? job.Type, at);
            }
        }
    }

    /// <summary>Jobs believed to run that a query-block-jobs reply no longer lists: they ended unseen.</summary>
    public void FinishMissing(IReadOnlySet<string> listed, DateTimeOffset at)
    {
        lock (gate)
        {
            foreach (var (id, job) in jobs.ToArray())
            {
                if (job.FinishedAt is null && !listed.Contains(id))
                {
                    jobs[id] = job with { FinishedAt = at };
                }
            }
        }
    }

    /// <summary>Removes the gauges of jobs that finished more than <paramref name="retention"/> ago; returns when the next one is due.</summary>
    public DateTimeOffset? Expire(DateTimeOffset now, TimeSpan retention, VmSeries series)
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
                    jobs.Remove(id);
                    if (job.Type is not null)
                    {
                        var key = new SeriesKey(id, job.Type);
                        series.Remove(MetricCatalog.BlockJobOffset, key);
                        series.Remove(MetricCatalog.BlockJobLen, key);
                        series.Remove(MetricCatalog.BlockJobSpeed, key);
                        series.Remove(MetricCatalog.BlockJobReady, key);
                    }
                }
                else if (next is null || finished + retention < next)
                {
                    next = finished + retention;
                }
            }
        }

        return next;
    }

    private readonly record struct Job(string? Type, DateTimeOffset? FinishedAt);
}
