using System.Collections.Concurrent;

namespace QmpExporter.Telemetry;

/// <summary>
/// The VMs the exporter currently knows, each with its series. A VM removed from the configuration is removed here,
/// and with it every series it had; the count of series let go tells <see cref="ExporterMetrics"/> when to rebuild
/// its instruments so the OpenTelemetry SDK lets go of them too.
/// </summary>
internal sealed class VmRegistry(IReadOnlyList<MetricFamily> catalog, int maxSeriesPerVm = VmRegistry.DefaultMaxSeriesPerVm, long maxScrapeBytes = VmRegistry.DefaultMaxScrapeBytes)
{
    public const int DefaultMaxSeriesPerVm = 256;

    /// <summary>
    /// Far below the ~170 MB the OpenTelemetry Prometheus exporter can buffer, past which every scrape fails; yet
    /// hundreds of VMs' worth of series (a busy VM's series take tens of KB).
    /// </summary>
    public const long DefaultMaxScrapeBytes = 32L * 1024 * 1024;

    private readonly ConcurrentDictionary<string, VmSeries> vms = new(StringComparer.Ordinal);
    private readonly long[] createdSeries = new long[catalog.Count];
    private long retiredSeries;
    private long histogramVersion;
    private long outputBytes;

    public ICollection<VmSeries> Vms => vms.Values;

    /// <summary>Every family a VM may have, each at its <see cref="MetricFamily.Index"/>.</summary>
    public IReadOnlyList<MetricFamily> Catalog { get; } = catalog;

    /// <summary>What all VMs' series may take in a <c>/metrics</c> body, estimated; new series past it are dropped and counted.</summary>
    public long MaxScrapeBytes { get; } = maxScrapeBytes;

    /// <summary>The estimated body size of all series now.</summary>
    public long OutputBytes => Interlocked.Read(ref outputBytes);

    /// <summary>Label sets one VM may create in a family of free-form names (devices, nodes, jobs).</summary>
    public int MaxSeriesPerVm { get; } = maxSeriesPerVm;

    public int Cap(MetricFamily family) => family.MaxSeriesPerVm == MetricFamily.Configured ? MaxSeriesPerVm : family.MaxSeriesPerVm;

    /// <summary>Series removed since the last <see cref="TakeRetiredSeries"/>.</summary>
    public long RetiredSeries => Interlocked.Read(ref retiredSeries);

    public VmSeries GetOrAdd(string vm) => vms.GetOrAdd(vm, name => new VmSeries(name, this));

    public VmSeries? Find(string vm) => vms.GetValueOrDefault(vm);

    public bool Remove(string vm)
    {
        if (!vms.TryRemove(vm, out var series))
        {
            return false;
        }

        OnSeriesRetired(series.SeriesCount);
        if (series.HasObservations)
        {
            OnHistogramChanged();
        }

        ReleaseOutputBytes(series.OutputBytes);
        return true;
    }

    public long TakeRetiredSeries() => Interlocked.Exchange(ref retiredSeries, 0);

    /// <summary>Label sets ever created in the family, over all VMs: a label set new to the metrics pipeline since a point in time is at most the difference.</summary>
    public long CreatedSeries(MetricFamily family) => Interlocked.Read(ref createdSeries[family.Index]);

    /// <summary>Label sets the family has now, over all VMs.</summary>
    public long LiveSeries(MetricFamily family) => vms.Values.Sum(vm => (long)vm.Count(family));

    /// <summary>Moves on with every observation and every removal of a VM that had some: histograms are replayed into a new pipeline then.</summary>
    public long HistogramVersion => Interlocked.Read(ref histogramVersion);

    internal void OnHistogramChanged() => Interlocked.Increment(ref histogramVersion);
    internal bool TryReserveOutputBytes(long bytes, bool force)
    {
        if (Interlocked.Add(ref outputBytes, bytes) <= MaxScrapeBytes || force)
        {
            return true;
        }

        Interlocked.Add(ref outputBytes, -bytes);
        return false;
    }

    internal void ReleaseOutputBytes(long bytes) => Interlocked.Add(ref outputBytes, -bytes);

    internal void OnSeriesRetired(int count) => Interlocked.Add(ref retiredSeries, count);

    internal void OnSeriesCreated(MetricFamily family) => Interlocked.Increment(ref createdSeries[family.Index]);
}
