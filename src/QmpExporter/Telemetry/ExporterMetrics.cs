using System.Diagnostics.Metrics;
using System.Reflection;

namespace QmpExporter.Telemetry;

/// <summary>
/// The exporter's one <see cref="Meter"/>: an observable instrument per counter and gauge family of the catalog, each reading
/// the <see cref="VmRegistry"/> at collection time, plus <c>qmp_exporter_build_info</c>. Callbacks only read memory:
/// no QMP traffic happens at scrape time. Histograms have no observable instrument: <see cref="MetricsEndpoint"/>
/// replays them into each pipeline it builds.
/// </summary>
internal sealed class ExporterMetrics : IDisposable
{
    public const string MeterName = "QmpExporter";
    public const string BuildInfoName = "qmp_exporter_build_info";
    public const string BuildInfoHelp = "1, with the version, git revision and .NET runtime version of the QmpExporter build as labels.";

    private readonly VmRegistry registry;
    private readonly Meter meter;

    public ExporterMetrics(VmRegistry registry, ExporterHealth health)
    {
        this.registry = registry;
        meter = new Meter(new MeterOptions(MeterName) { Version = Version });
        foreach (var family in registry.Catalog)
        {
            if (family.Kind == MetricKind.Counter)
            {
                meter.CreateObservableCounter(family.Name, () => Observe(family), description: family.Help);
            }
            else if (family.Kind == MetricKind.Gauge)
            {
                meter.CreateObservableGauge(family.Name, () => Observe(family), description: family.Help);
            }
        }

        meter.CreateObservableGauge(
            BuildInfoName,
            () => new Measurement<long>(1, new("version", Version), new("revision", Revision), new("dotnet", DotnetVersion)),
            description: BuildInfoHelp);
        ProcessMetrics.Register(meter);
        foreach (var (name, help, read) in ExporterHealth.Counters)
        {
            meter.CreateObservableCounter(name, () => read(health), description: help);
        }
    }

    public static string Version => InformationalVersion.Split('+')[0];

    /// <summary>The git commit the build came from (the SDK appends it to the informational version), or "unknown".</summary>
    public static string Revision => InformationalVersion.Split('+') is [_, { Length: > 0 } revision, ..] ? revision : "unknown";

    public static string DotnetVersion { get; } = Environment.Version.ToString();

    private static string InformationalVersion { get; } =
        typeof(ExporterMetrics).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    public Meter Meter => meter;

    public void Dispose() => meter.Dispose();

    private List<Measurement<double>> Observe(MetricFamily family)
    {
        var measurements = new List<Measurement<double>>();
        foreach (var vm in registry.Vms)
        {
            vm.Collect(family, measurements);
        }

        return measurements;
    }
}
