namespace QmpExporter.Telemetry;

/// <summary>
/// Failures of the exporter's own HTTP side, counted for <c>/metrics</c>: they hurt every VM at once, so they show
/// apart from the per-VM series.
/// </summary>
internal sealed class ExporterHealth
{
    public const string ScrapeFailuresName = "qmp_exporter_scrape_failures_total";
    public const string ConnectionsRejectedName = "qmp_exporter_http_connections_rejected_total";

    private long scrapeFailures;
    private long connectionsRejected;

    public long ScrapeFailures => Interlocked.Read(ref scrapeFailures);

    public long ConnectionsRejected => Interlocked.Read(ref connectionsRejected);

    /// <summary>Counts a failed scrape; true for the first one, which is worth a line of its own.</summary>
    public bool OnScrapeFailed() => Interlocked.Increment(ref scrapeFailures) == 1;

    /// <summary>Counts connections refused at the connection limit; true when these are the first.</summary>
    public bool OnConnectionsRejected(long count) => Interlocked.Add(ref connectionsRejected, count) == count;
}
