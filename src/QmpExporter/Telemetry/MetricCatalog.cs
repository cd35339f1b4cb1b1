namespace QmpExporter.Telemetry;

/// <summary>
/// The families every VM's series store keeps by itself (events received, series dropped); the session and each
/// mapping declare theirs in their own files, and the mappings' registry joins them all into the catalog
/// (<see cref="Index"/>). The names are a contract with dashboards,
/// alert rules and users' queries (README "Metrics"): add, never rename.
/// </summary>
internal static class MetricCatalog
{
    public static readonly MetricFamily Events = MetricFamily.Counter("qmp_events_total",
        "QMP events received, by event name, known to the exporter or not.", ["event"], 128);

    public static readonly MetricFamily LastEventTimestamp = MetricFamily.Gauge("qmp_last_event_timestamp_seconds",
        "QEMU's own timestamp (Unix seconds) of the last QMP event received.", [], 1);

    public static readonly MetricFamily SeriesDropped = MetricFamily.Counter("qmp_series_dropped_total",
        "Label sets not exported because the VM reached the per-metric series cap (QmpExporter:MaxSeriesPerVm).", ["metric"], 64);

    public static IReadOnlyList<MetricFamily> Families { get; } = [Events, LastEventTimestamp, SeriesDropped];

    /// <summary>Numbers the families of the catalog in order; a name used twice or a family catalogued twice throws.</summary>
    public static IReadOnlyList<MetricFamily> Index(IEnumerable<MetricFamily> families)
    {
        var all = families.ToList();
        if (all.GroupBy(f => f.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            throw new InvalidOperationException($"metric {twice.Key} is declared {twice.Count()} times");
        }

        for (var i = 0; i < all.Count; i++)
        {
            if (all[i].Index != -1 && all[i].Index != i)
            {
                throw new InvalidOperationException($"metric {all[i].Name} is in two catalogs");
            }

            all[i].Index = i;
        }

        return all;
    }
}
