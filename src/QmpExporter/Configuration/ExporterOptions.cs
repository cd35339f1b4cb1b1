namespace QmpExporter.Configuration;

/// <summary>The <c>QmpExporter</c> configuration section (appsettings.json, <c>QmpExporter__*</c> environment variables, command line).</summary>
internal sealed class ExporterOptions
{
    public const string Section = "QmpExporter";

    /// <summary>The VMs to watch; editing the list in appsettings.json applies without a restart.</summary>
    public List<VmOptions> Vms { get; set; } = [];

    /// <summary>Longest QMP line accepted; a longer one is a protocol error for that connection.</summary>
    public int MaxLineBytes { get; set; } = 16 * 1024 * 1024;

    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    public TimeSpan GreetingTimeout { get; set; } = TimeSpan.FromSeconds(5);

    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>First delay before reconnecting; it doubles per failed attempt, with jitter, up to <see cref="ReconnectMaxDelay"/>.</summary>
    public TimeSpan ReconnectMinDelay { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Most label sets one VM may have in a metric labelled by free-form names (devices, nodes, jobs); the rest are counted in qmp_series_dropped_total.</summary>
    public int MaxSeriesPerVm { get; set; } = Telemetry.VmRegistry.DefaultMaxSeriesPerVm;

    /// <summary>
    /// Estimated size of the series of all VMs in a <c>/metrics</c> body; new series past it are counted in
    /// qmp_series_dropped_total instead, so no VM can grow the body to where the scrape fails for all.
    /// </summary>
    public long MaxScrapeBytes { get; set; } = Telemetry.VmRegistry.DefaultMaxScrapeBytes;

    /// <summary>Most HTTP connections open at once, and never more than a quarter of the file descriptors free at start-up.</summary>
    public int MaxHttpConnections { get; set; } = 256;

    /// <summary>How often query-block-jobs and query-migrate run while a block job or a migration runs; never otherwise.</summary>
    public TimeSpan ActivePollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often query-blockstats runs for qemu_block_failed_operations_total.</summary>
    public TimeSpan BlockStatsInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a finished block job's gauges stay, so that a scrape sees its final offset.</summary>
    public TimeSpan FinishedJobRetention { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>A unix socket QEMUs dial in to (<c>--listen PATH</c>); none by default.</summary>
    public ListenOptions Listen { get; set; } = new();

    /// <summary>Globs of QMP server sockets that come and go (<c>--discover GLOB</c>).</summary>
    public DiscoverOptions Discover { get; set; } = new();

    /// <summary>How long the series of a VM that left (its QEMU exited, its socket file went) stay before they are released.</summary>
    public TimeSpan DepartedVmGrace { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Lets a socket or glob point at libvirt's or Proxmox's own monitors. Risky: see README "Management sockets".</summary>
    public bool AllowManagementSockets { get; set; }
}

internal sealed class VmOptions
{
    /// <summary>The <c>vm</c> label of every series of this VM.</summary>
    public string Name { get; set; } = "";

    /// <summary>A unix socket path, <c>unix:PATH</c> or <c>tcp:HOST:PORT</c>.</summary>
    public string Socket { get; set; } = "";
}
