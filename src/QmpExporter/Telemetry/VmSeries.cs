using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace QmpExporter.Telemetry;

/// <summary>
/// The current value of every series of one VM: the source of truth the observable instruments read at scrape time.
/// Writers are the VM's own session (its read loop and its queries); readers are scrapes. One lock per VM keeps
/// them apart without ever making one VM wait for another.
/// </summary>
internal sealed class VmSeries(string vm, VmRegistry registry)
{
    private readonly Lock gate = new();
    private readonly Dictionary<SeriesKey, double>?[] families = new Dictionary<SeriesKey, double>?[registry.Catalog.Count];
    private readonly HistogramBuckets?[] histograms = new HistogramBuckets?[registry.Catalog.Count];
    private long outputBytes;

    public string Vm { get; } = vm;

    public int SeriesCount
    {
        get
        {
            lock (gate)
            {
                return families.Sum(f => f?.Count ?? 0);
            }
        }
    }

    /// <summary>Roughly what this VM's series take in a <c>/metrics</c> body: its share of <see cref="VmRegistry.MaxScrapeBytes"/>.</summary>
    public long OutputBytes
    {
        get
        {
            lock (gate)
            {
                return outputBytes;
            }
        }
    }

    /// <summary>How many label sets this VM may have in the family.</summary>
    public int Cap(MetricFamily family) => registry.Cap(family);

    public int Count(MetricFamily family)
    {
        lock (gate)
        {
            return families[family.Index]?.Count ?? 0;
        }
    }

    public void Add(in Series series, double delta = 1)
    {
        var key = series.CompleteKey();
        lock (gate)
        {
            ref var value = ref Slot(series.Family, key);
            if (!Unsafe.IsNullRef(ref value))
            {
                value += delta;
            }
        }
    }

    public void Set(in Series series, double value)
    {
        var key = series.CompleteKey();
        lock (gate)
        {
            ref var slot = ref Slot(series.Family, key);
            if (!Unsafe.IsNullRef(ref slot))
            {
                slot = value;
            }
        }
    }

    /// <summary>Counts one event and stamps QEMU's time, in one lock: this runs for every event.</summary>
    public void RecordEvent(string eventName, double timestampSeconds)
    {
        lock (gate)
        {
            ref var count = ref Slot(MetricCatalog.Events, MetricCatalog.Events.With("event", eventName).Key);
            if (!Unsafe.IsNullRef(ref count))
            {
                count++;
            }

            Slot(MetricCatalog.LastEventTimestamp, SeriesKey.None) = timestampSeconds;
        }
    }

    /// <summary>Adds one observation to a histogram family; the /metrics endpoint takes it up at its next scrape.</summary>
    public void Observe(MetricFamily histogram, double value)
    {
        lock (gate)
        {
            (histograms[histogram.Index] ??= new HistogramBuckets(histogram.Bounds.Length + 1)).Add(histogram.Bounds, value);
        }

        registry.OnHistogramChanged();
    }

    /// <summary>A histogram's observation count, sum and cumulative count per bucket (+Inf last); null before the first observation.</summary>
    public (long Count, double Sum, long[] Cumulative)? Histogram(MetricFamily histogram)
    {
        lock (gate)
        {
            return histograms[histogram.Index]?.Snapshot();
        }
    }

    /// <summary>
    /// Records the histogram's observations into <paramref name="instrument"/> of a new metrics pipeline: each bucket's
    /// count, at the mean of its observations, so the buckets, the count and the sum come out as observed.
    /// </summary>
    public void Replay(MetricFamily histogram, Histogram<double> instrument)
    {
        lock (gate)
        {
            if (histograms[histogram.Index] is not { } buckets)
            {
                return;
            }

            var tags = new TagList { { "vm", Vm } };
            for (var i = 0; i < buckets.Counts.Length; i++)
            {
                for (var n = 0L; n < buckets.Counts[i]; n++)
                {
                    instrument.Record(buckets.Sums[i] / buckets.Counts[i], tags);
                }
            }
        }
    }

    public bool HasObservations
    {
        get
        {
            lock (gate)
            {
                return histograms.Any(h => h is not null);
            }
        }
    }

    /// <summary>Sets <paramref name="state"/> to 1 and every other series of its family to 0: a state set.</summary>
    public void SetState(in Series state)
    {
        var (family, key) = (state.Family, state.CompleteKey());
        lock (gate)
        {
            if (families[family.Index] is { } series)
            {
                foreach (var other in series.Keys)
                {
                    series[other] = 0;
                }
            }

            ref var slot = ref Slot(family, key);
            if (!Unsafe.IsNullRef(ref slot))
            {
                slot = 1;
            }
        }
    }

    /// <summary>Forgets every series of the family, e.g. <c>qemu_info</c> before a new greeting's labels.</summary>
    public void Clear(MetricFamily family)
    {
        lock (gate)
        {
            if (families[family.Index] is { Count: > 0 } series)
            {
                registry.OnSeriesRetired(series.Count);
                var bytes = series.Keys.Sum(key => OutputCost(family, key));
                outputBytes -= bytes;
                registry.ReleaseOutputBytes(bytes);
                series.Clear();
            }
        }
    }

    public bool Remove(in Series series)
    {
        var key = series.CompleteKey();
        lock (gate)
        {
            if (families[series.Family.Index]?.Remove(key) == true)
            {
                registry.OnSeriesRetired(1);
                var bytes = OutputCost(series.Family, key);
                outputBytes -= bytes;
                registry.ReleaseOutputBytes(bytes);
                return true;
            }

            return false;
        }
    }

    /// <summary>Forgets the family's series whose labels match, e.g. those of a block node that no longer exists.</summary>
    public void RemoveWhere(MetricFamily family, Func<SeriesKey, bool> match)
    {
        lock (gate)
        {
            if (families[family.Index] is not { Count: > 0 } series)
            {
                return;
            }

            foreach (var key in series.Keys.Where(match).ToArray())
            {
                series.Remove(key);
                registry.OnSeriesRetired(1);
            }
        }
    }

    public double? Get(in Series series)
    {
        var key = series.CompleteKey();
        lock (gate)
        {
            return families[series.Family.Index] is { } values && values.TryGetValue(key, out var value) ? value : null;
        }
    }

    /// <summary>Creates every catalogued family's seeds at 0 (a new VM).</summary>
    public void Seed()
    {
        foreach (var family in registry.Catalog)
        {
            foreach (var seed in family.Seeds)
            {
                Add(seed, 0);
            }
        }
    }

    /// <summary>Removes the series of every family with this <paramref name="teardown"/>.</summary>
    public void TearDown(Teardown teardown)
    {
        foreach (var family in registry.Catalog.Where(f => f.Teardown == teardown))
        {
            Clear(family);
        }
    }

    /// <summary>Appends the family's series of this VM as measurements, <c>vm</c> first, then the family's labels.</summary>
    public void Collect(MetricFamily family, List<Measurement<double>> into)
    {
        lock (gate)
        {
            if (families[family.Index] is not { Count: > 0 } series)
            {
                return;
            }

            foreach (var (key, value) in series)
            {
                var tags = new TagList { { "vm", Vm } };
                for (var i = 0; i < family.Labels.Length; i++)
                {
                    tags.Add(family.Labels[i], key[i]);
                }

                into.Add(new Measurement<double>(value, tags));
            }
        }
    }

    /// <summary>
    /// The value slot of a series, created when new; a null ref when the VM's cap for the family is reached or the
    /// series would take the body past <see cref="VmRegistry.MaxScrapeBytes"/>. Label values are bounded already.
    /// </summary>
    private ref double Slot(MetricFamily family, in SeriesKey key)
    {
        var series = families[family.Index] ??= [];
        if (!series.ContainsKey(key) && !TryAdmit(family, key, series.Count))
        {
            if (family != MetricCatalog.SeriesDropped)
            {
                ref var dropped = ref Slot(MetricCatalog.SeriesDropped, MetricCatalog.SeriesDropped.With("metric", family.Name).Key);
                if (!Unsafe.IsNullRef(ref dropped))
                {
                    dropped++;
                }
            }

            return ref Unsafe.NullRef<double>();
        }

        ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(series, key, out var existed);
        if (!existed)
        {
            registry.OnSeriesCreated(family);
        }

        return ref slot;
    }

    /// <summary>Reserves the output a new series takes; the drop counter itself is always admitted, or a drop could not be counted.</summary>
    private bool TryAdmit(MetricFamily family, in SeriesKey key, int count)
    {
        if (count >= registry.Cap(family))
        {
            return false;
        }

        var bytes = OutputCost(family, key);
        if (!registry.TryReserveOutputBytes(bytes, force: family == MetricCatalog.SeriesDropped))
        {
            return false;
        }

        outputBytes += bytes;
        return true;
    }

    /// <summary>An upper estimate of the series' line in the Prometheus text format: name, labels, value, timestamp.</summary>
    private int OutputCost(MetricFamily family, in SeriesKey key)
    {
        const int valueAndPunctuation = 48;
        var bytes = family.Name.Length + "{vm=\"\"".Length + Vm.Length + valueAndPunctuation;
        for (var i = 0; i < family.Labels.Length; i++)
        {
            // Escaping may double a quote or backslash; UTF-8 may take up to three bytes for a UTF-16 char.
            bytes += family.Labels[i].Length + 4 + (3 * (key[i]?.Length ?? 0));
        }

        return bytes;
    }

    /// <summary>Per bucket (not cumulative, +Inf last): how many observations fell in it and their sum.</summary>
    private sealed class HistogramBuckets(int buckets)
    {
        public long[] Counts { get; } = new long[buckets];

        public double[] Sums { get; } = new double[buckets];

        public void Add(double[] bounds, double value)
        {
            var i = 0;
            while (i < bounds.Length && value > bounds[i])
            {
                i++;
            }

            Counts[i]++;
            Sums[i] += value;
        }

        public (long Count, double Sum, long[] Cumulative) Snapshot()
        {
            var cumulative = new long[Counts.Length];
            long running = 0;
            for (var i = 0; i < Counts.Length; i++)
            {
                running += Counts[i];
                cumulative[i] = running;
            }

            return (running, Sums.Sum(), cumulative);
        }
    }
}
