using System.Diagnostics.Metrics;
using System.Diagnostics;
using QmpExporter.Mappings;
using QmpExporter.Qmp;
using QmpExporter.Telemetry;

namespace QmpExporter.Benchmarks;

/// <summary>What one VM's fake QEMU sends: the exact count of every event name, and the name of its last event.</summary>
internal sealed class Expectation
{
    public Expectation(string vm, int offset, long events)
    {
        Vm = vm;
        Events = events;
        Counts = EventMix.Shared.ExpectedCounts(offset, events);
        LastName = EventMix.Shared.LastName(offset, events);
        LastCount = Counts[LastName];
    }

    public string Vm { get; }

    public long Events { get; }

    public Dictionary<string, long> Counts { get; }

    public string LastName { get; }

    public long LastCount { get; }
}

/// <summary>Watches the registry (the exporter's source of truth) until every sent event is counted, then checks it exactly.</summary>
internal static class Counting
{
    public sealed class Progress
    {
        /// <summary>Stopwatch timestamp of the poll that saw the last VM complete.</summary>
        public long Done;

        /// <summary>The first poll that saw a counted event: its timestamp, the events counted then, allocated bytes and CPU time.</summary>
        public long FirstSeen;
        public long CountedAtFirst;
        public long AllocatedAtFirst;
        public TimeSpan CpuAtFirst;

        public long AllocatedAtDone;
        public TimeSpan CpuAtDone;

        public List<Expectation> Missing { get; } = [];
    }

    /// <summary>
    /// Polls every <paramref name="interval"/> on the calling thread (run it on a dedicated one: it sleeps, it never
    /// allocates while polling). A VM is complete when the count of its last event's name reached the expected value:
    /// one connection's events are counted in order, so everything before it was counted too.
    /// </summary>
    public static Progress WaitAll(VmRegistry registry, IReadOnlyList<Expectation> expectations, TimeSpan timeout, TimeSpan interval, bool snapshotAtFirstEvent)
    {
        var progress = new Progress();
        var pending = new List<Expectation>(expectations);
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        var sleepMs = Math.Max(1, (int)interval.TotalMilliseconds);
        using var process = Process.GetCurrentProcess();
        while (pending.Count > 0)
        {
            if (snapshotAtFirstEvent && progress.FirstSeen == 0)
            {
                var counted = 0L;
                foreach (var e in pending)
                {
                    counted += CountedSoFar(registry, e);
                }

                if (counted > 0)
                {
                    progress.FirstSeen = Stopwatch.GetTimestamp();
                    progress.AllocatedAtFirst = GC.GetTotalAllocatedBytes(precise: true);
                    process.Refresh();
                    progress.CpuAtFirst = process.TotalProcessorTime;
                    progress.CountedAtFirst = counted;
                }
            }

            for (var i = pending.Count - 1; i >= 0; i--)
            {
                var e = pending[i];
                if (registry.Find(e.Vm)?.Get(MetricCatalog.Events.With("event", e.LastName)) >= e.LastCount)
                {
                    pending.RemoveAt(i);
                }
            }

            if (pending.Count == 0)
            {
                break;
            }

            if (Stopwatch.GetTimestamp() > deadline)
            {
                progress.Missing.AddRange(pending);
                break;
            }

            Thread.Sleep(sleepMs);
        }

        progress.Done = Stopwatch.GetTimestamp();
        progress.AllocatedAtDone = GC.GetTotalAllocatedBytes(precise: true);
        process.Refresh();
        progress.CpuAtDone = process.TotalProcessorTime;
        return progress;
    }

    public static long CountedSoFar(VmRegistry registry, Expectation e)
    {
        var series = registry.Find(e.Vm);
        if (series is null)
        {
            return 0;
        }

        var sum = 0L;
        foreach (var name in e.Counts.Keys)
        {
            sum += (long)(series.Get(MetricCatalog.Events.With("event", name)) ?? 0);
        }

        return sum;
    }

    public sealed record Check(long Expected, long Counted, int VmsExact, int Vms, long ProtocolErrors, long SeriesDropped, string? FirstMismatch)
    {
        public bool Exact => VmsExact == Vms && Expected == Counted && ProtocolErrors == 0 && SeriesDropped == 0;

        public string Summary => Exact
            ? $"all {Counted:N0} of {Expected:N0} events counted, every event name exact on all {Vms} VM(s); protocol errors 0, series dropped 0"
            : $"MISMATCH: counted {Counted:N0} of {Expected:N0}; exact on {VmsExact}/{Vms} VMs; protocol errors {ProtocolErrors}; series dropped {SeriesDropped}; {FirstMismatch}";
    }

    /// <summary>Compares every VM's whole <c>qmp_events_total</c> family (no missing and no extra names) with what was sent.</summary>
    public static Check Verify(VmRegistry registry, IReadOnlyList<Expectation> expectations)
    {
        long expected = 0, counted = 0, protocolErrors = 0, dropped = 0;
        var exact = 0;
        string? mismatch = null;
        var measurements = new List<Measurement<double>>();
        foreach (var e in expectations)
        {
            expected += e.Events;
            var series = registry.Find(e.Vm);
            if (series is null)
            {
                mismatch ??= $"VM {e.Vm} is not in the registry";
                continue;
            }

            measurements.Clear();
            series.Collect(MetricCatalog.Events, measurements);
            var seen = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var m in measurements)
            {
                foreach (var tag in m.Tags)
                {
                    if (tag.Key == "event")
                    {
                        seen[(string)tag.Value!] = (long)m.Value;
                    }
                }
            }

            counted += seen.Values.Sum();
            var same = seen.Count == e.Counts.Count && e.Counts.All(kv => seen.GetValueOrDefault(kv.Key) == kv.Value);
            if (same)
            {
                exact++;
            }
            else
            {
                var diff = e.Counts.Keys.Union(seen.Keys).First(k => seen.GetValueOrDefault(k) != e.Counts.GetValueOrDefault(k));
                mismatch ??= $"VM {e.Vm}: {diff} counted {seen.GetValueOrDefault(diff)}, sent {e.Counts.GetValueOrDefault(diff)}";
            }

            foreach (var reason in QmpProtocolErrorReasons.All)
            {
                protocolErrors += (long)(series.Get(SessionMetrics.ProtocolErrors.With("reason", reason)) ?? 0);
            }

            measurements.Clear();
            series.Collect(MetricCatalog.SeriesDropped, measurements);
            dropped += (long)measurements.Sum(m => m.Value);
        }

        return new Check(expected, counted, exact, expectations.Count, protocolErrors, dropped, mismatch);
    }
}
