namespace QmpExporter.Telemetry;

/// <summary>
/// Failures of the exporter's own (HTTP side, configuration reloads), counted for <c>/metrics</c>: they concern every
/// VM at once, so they show apart from the per-VM series.
/// </summary>
internal sealed class ExporterHealth
{
    public const string ScrapeFailuresName = "qmp_exporter_scrape_failures_total";
    public const string ConnectionLimitReachedName = "qmp_exporter_http_connection_limit_reached_total";

    public const string ConfigReloadFailuresName = "qmp_exporter_config_reload_failures_total";

    private long scrapeFailures;
    private long configReloadFailures;
    private long connectionLimitReached;

    public long ScrapeFailures => Interlocked.Read(ref scrapeFailures);

    public long ConnectionLimitReached => Interlocked.Read(ref connectionLimitReached);

    public long ConfigReloadFailures => Interlocked.Read(ref configReloadFailures);

    public void OnConfigReloadFailed() => Interlocked.Increment(ref configReloadFailures);

    /// <summary>Counts a failed scrape; true for the first one, which is worth a line of its own.</summary>
    public bool OnScrapeFailed() => Interlocked.Increment(ref scrapeFailures) == 1;

    /// <summary>Counts a connection that found every slot taken; true for the first.</summary>
    public bool OnConnectionLimitReached() => Interlocked.Increment(ref connectionLimitReached) == 1;
}
