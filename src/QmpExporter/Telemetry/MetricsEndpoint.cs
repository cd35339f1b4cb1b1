using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace QmpExporter.Telemetry;

/// <summary>
/// Serves <c>/metrics</c> through the OpenTelemetry Prometheus exporter (Prometheus text and OpenMetrics), from a
/// <see cref="MeterProvider"/> of its own that it replaces once enough series have been retired. The SDK never frees a
/// label set it has seen under cumulative temporality, so VMs and jobs that come and go would grow the daemon without
/// end; a fresh provider starts empty and loses nothing, because every instrument is observable and reports absolute
/// values. In-flight scrapes finish on the provider they started with, which is disposed after the last of them.
/// </summary>
internal sealed class MetricsEndpoint(IApplicationBuilder app, ExporterMetrics metrics, VmRegistry registry, int plannedVms) : IDisposable
{
    /// <summary>Rebuild once at least this many series were retired and at least as many as are live.</summary>
    private const int MinRetiredForRebuild = 1024;

    private readonly Lock rebuildGate = new();
    private Generation? current;

    public int Rebuilds { get; private set; }

    public async Task HandleAsync(HttpContext context)
    {
        var generation = Acquire();
        try
        {
            await generation.Scrape(context).ConfigureAwait(false);
        }
        finally
        {
            generation.Release();
        }
    }

    /// <summary>Replaces the provider now when the retired series are worth it; true when it did.</summary>
    public bool RebuildIfWorthIt()
    {
        var retired = registry.RetiredSeries;
        if (retired < MinRetiredForRebuild || retired < registry.Vms.Sum(vm => (long)vm.SeriesCount))
        {
            return false;
        }

        Rebuild();
        return true;
    }

    public void Rebuild()
    {
        lock (rebuildGate)
        {
            registry.TakeRetiredSeries();
            var old = current;
            current = new Generation(Build());
            old?.Release();
            Rebuilds++;
        }
    }

    public void Dispose() => current?.Release();

    private Generation Acquire()
    {
        while (true)
        {
            RebuildIfWorthIt();
            var generation = current;
            if (generation is null)
            {
                Rebuild();
                continue;
            }

            if (generation.TryAcquire())
            {
                return generation;
            }
        }
    }

    private (MeterProvider Provider, RequestDelegate Scrape) Build()
    {
        var provider = Sdk.CreateMeterProviderBuilder()
            .AddMeter(ExporterMetrics.MeterName)
            // Only this exporter's meter: another instance in the same process (tests) has a meter of the same name.
            .AddView(instrument => instrument.Meter == metrics.Meter
                ? new MetricStreamConfiguration { CardinalityLimit = CardinalityLimit(instrument.Name) }
                : MetricStreamConfiguration.Drop)
            .AddPrometheusExporter(options =>
            {
                options.ScopeInfoEnabled = false;
                options.TargetInfoEnabled = false;
            })
            .Build();
        var branch = app.New();
        branch.UseOpenTelemetryPrometheusScrapingEndpoint(provider, predicate: _ => true, path: null, configureBranchedPipeline: null, optionsName: null);
        return (provider, branch.Build());
    }

    /// <summary>
    /// Room for every planned VM's series twice over: live ones plus those retired before the next rebuild. The
    /// default of 2000 per instrument would silently merge the rest into one overflow series.
    /// </summary>
    private int CardinalityLimit(string instrumentName)
    {
        var perVm = MetricCatalog.All.FirstOrDefault(f => f.Name == instrumentName)?.MaxSeriesPerVm ?? 1;
        return (int)Math.Min(int.MaxValue / 2, 2L * Math.Max(plannedVms, 1) * perVm + 16);
    }

    private sealed class Generation((MeterProvider Provider, RequestDelegate Scrape) built)
    {
        private int leases = 1;

        public RequestDelegate Scrape { get; } = built.Scrape;

        public bool TryAcquire()
        {
            var seen = Volatile.Read(ref leases);
            while (seen > 0)
            {
                var was = Interlocked.CompareExchange(ref leases, seen + 1, seen);
                if (was == seen)
                {
                    return true;
                }

                seen = was;
            }

            return false;
        }

        public void Release()
        {
            if (Interlocked.Decrement(ref leases) == 0)
            {
                built.Provider.Dispose();
            }
        }
    }
}
