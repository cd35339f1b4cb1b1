using System.Diagnostics.Metrics;
using System.Reflection;

namespace QmpExporter.Telemetry;

/// <summary>
/// The exporter's one <see cref="Meter"/>: an observable instrument per family of the catalog, each reading
/// the <see cref="VmRegistry"/> at collection time, plus <c>qmp_exporter_build_info</c>. Callbacks only read memory:
/// no QMP traffic happens at scrape time.
/// </summary>
internal sealed class ExporterMetrics : IDisposable
{
    public const string MeterName = "QmpExporter";
    public const string BuildInfoName = "qmp_exporter_build_info";
    public const string BuildInfoHelp = "1, with the version of the QmpExporter build as a label.";

    private readonly VmRegistry registry;
    private readonly Meter meter;

    public ExporterMetrics(VmRegistry registry)
    {
        this.registry = registry;
        meter = new Meter(new MeterOptions(MeterName) { Version = Version });
        foreach (var family in registry.Catalog)
        {
            if (family.Kind == MetricKind.Counter)
            {
                meter.CreateObservableCounter(family.Name, () => Observe(family), description: family.Help);
            }
            else
            {
                meter.CreateObservableGauge(family.Name, () => Observe(family), description: family.Help);
            }
        }

        meter.CreateObservableGauge(BuildInfoName, () => new Measurement<long>(1, new KeyValuePair<string, object?>("version", Version)),
            description: BuildInfoHelp);
    }

    public static string Version { get; } =
        typeof(ExporterMetrics).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "unknown";

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
