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

    /// <summary>How many VMs one exporter is sized for: it sets the per-metric cardinality limit of the Prometheus exporter.</summary>
    public int PlannedVms { get; set; } = 1000;
}

internal sealed class VmOptions
{
    /// <summary>The <c>vm</c> label of every series of this VM.</summary>
    public string Name { get; set; } = "";

    /// <summary>A unix socket path, <c>unix:PATH</c> or <c>tcp:HOST:PORT</c>.</summary>
    public string Socket { get; set; } = "";
}
