namespace QmpExporter.Telemetry;

internal enum MetricKind
{
    Counter,
    Gauge,
}

/// <summary>
/// One metric of the contract: its exact Prometheus name, HELP text and label keys (besides <c>vm</c>, which every
/// per-VM series carries first). <see cref="MaxSeriesPerVm"/> bounds the label sets one VM may create (0: the configured
/// QmpExporter:MaxSeriesPerVm); what goes past it is counted in <c>qmp_series_dropped_total</c>.
/// </summary>
internal sealed record MetricFamily(string Name, MetricKind Kind, string Help, string[] Labels, int MaxSeriesPerVm)
{
    /// <summary>Position in <see cref="MetricCatalog.All"/>; the index of the family's slot in every VM's series store.</summary>
    public int Index { get; init; }
}
