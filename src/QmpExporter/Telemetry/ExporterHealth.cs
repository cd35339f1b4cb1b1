namespace QmpExporter.Telemetry;

/// <summary>
/// Failures of the exporter's own (HTTP side, configuration reloads), counted for <c>/metrics</c>: they concern every
/// VM at once, so they show apart from the per-VM series.
/// </summary>
internal sealed class ExporterHealth
{
    public const string ScrapeFailuresName = "qmp_exporter_scrape_failures_total";
    public const string ConfigReloadFailuresName = "qmp_exporter_config_reload_failures_total";
    public const string ConnectionLimitReachedName = "qmp_exporter_http_connection_limit_reached_total";

    private long scrapeFailures;
    private long configReloadFailures;
    private long connectionLimitReached;

    /// <summary>The counters as the meter serves them and README's metric table lists them: name, HELP, value.</summary>
    public static IReadOnlyList<(string Name, string Help, Func<ExporterHealth, long> Read)> Counters { get; } =
    [
        (ScrapeFailuresName, "Scrapes of /metrics that failed (HTTP 500 or an aborted body); each is also logged.", h => h.ScrapeFailures),
        (ConfigReloadFailuresName, "Configuration changes rejected (unreadable or unparseable file, a value of the wrong type, an invalid VM); the previous VM list stays.",
            h => h.ConfigReloadFailures),
        (ConnectionLimitReachedName, "HTTP connections that found QmpExporter:MaxHttpConnections open and waited in the listen backlog; the first is logged.",
            h => h.ConnectionLimitReached),
    ];

    public long ScrapeFailures => Interlocked.Read(ref scrapeFailures);

    public long ConnectionLimitReached => Interlocked.Read(ref connectionLimitReached);

    public long ConfigReloadFailures => Interlocked.Read(ref configReloadFailures);

    public void OnConfigReloadFailed() => Interlocked.Increment(ref configReloadFailures);

    /// <summary>Counts a failed scrape; true for the first one, which is worth a line of its own.</summary>
    public bool OnScrapeFailed() => Interlocked.Increment(ref scrapeFailures) == 1;

    /// <summary>Counts a connection that found every slot taken; true for the first.</summary>
    public bool OnConnectionLimitReached() => Interlocked.Increment(ref connectionLimitReached) == 1;
}
