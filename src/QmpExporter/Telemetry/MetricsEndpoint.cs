using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace QmpExporter.Telemetry;

/// <summary>
/// Serves <c>/metrics</c> through the OpenTelemetry Prometheus exporter (Prometheus text and OpenMetrics), from a
/// <see cref="MeterProvider"/> of its own that it replaces when needed. The SDK never frees a label set it has seen
/// under cumulative temporality and preallocates every instrument's cardinality limit, so a fixed provider would
/// either grow without end as VMs and jobs come and go, or hold room for series that do not exist. A fresh provider
/// starts empty and loses nothing, because every instrument is observable and reports absolute values. It is sized
/// from the live series (twice over) and replaced before a scrape could overflow it, or once the series retired
/// since it was built outnumber the live ones. In-flight scrapes finish on the provider they started with, which is
/// disposed after the last of them. Histograms, which have no observable instrument, get a synchronous one of the new
/// provider's own, into which every VM's observations are replayed; a new observation (a migration ended) makes the
/// next scrape build anew, which happens rarely enough to cost nothing.
/// </summary>
internal sealed partial class MetricsEndpoint(IApplicationBuilder app, ExporterMetrics metrics, VmRegistry registry, ExporterHealth health, ILogger logger) : IDisposable
{
    /// <summary>Retired series worth a rebuild, at the least: below this the memory they hold does not matter.</summary>
    private const int MinRetiredForRebuild = 1024;

    /// <summary>Cardinality limit of an instrument that has (almost) no series yet.</summary>
    private const int MinCardinalityLimit = 256;

    private readonly Lock rebuildGate = new();
    private readonly Mappings.LogThrottle failureLog = new(TimeProvider.System, TimeSpan.FromMinutes(1));
    private Generation? current;

    public int Rebuilds { get; private set; }

    public async Task HandleAsync(HttpContext context)
    {
        var generation = Acquire();
        try
        {
            await generation.Scrape(context).ConfigureAwait(false);
        }
        catch (Exception e) when (!context.RequestAborted.IsCancellationRequested)
        {
            OnFailed(e.Message);
            throw;
        }
        finally
        {
            generation.Release();
        }

        // The Prometheus exporter turns its own failures (e.g. a body past its buffer) into a bare 500.
        if (context.Response.StatusCode >= StatusCodes.Status500InternalServerError)
        {
            OnFailed($"HTTP {context.Response.StatusCode}");
        }
    }

    private void OnFailed(string why)
    {
        var first = health.OnScrapeFailed();
        if (failureLog.TryEnter(out var suppressed) || first)
        {
            LogScrapeFailed(logger, why, registry.OutputBytes, registry.Vms.Sum(vm => (long)vm.SeriesCount), suppressed);
        }
    }

    [LoggerMessage(EventId = 20, Level = LogLevel.Error,
        Message = "A scrape of /metrics failed ({Why}); the series estimate {Bytes} bytes in {Series} series ({Suppressed} more failures since the last line, counted in qmp_exporter_scrape_failures_total)")]
    private static partial void LogScrapeFailed(ILogger logger, string why, long bytes, long series, int suppressed);

    public void Dispose() => current?.Release();

    private Generation Acquire()
    {
        while (true)
        {
            var generation = current;
            if (generation is null || NeedsRebuild(generation))
            {
                Rebuild(generation);
                continue;
            }

            if (generation.TryAcquire())
            {
                return generation;
            }
        }
    }

    private bool NeedsRebuild(Generation generation)
    {
        if (registry.HistogramVersion != generation.HistogramVersion)
        {
            return true;
        }

        // Observable label sets enter the SDK only when a scrape collects them: checking here, before the collect,
        // means no scrape ever overflows into otel_metric_overflow.
        foreach (var family in registry.Catalog)
        {
            var seenAtMost = generation.LiveAtBuild[family.Index] + registry.CreatedSeries(family) - generation.CreatedAtBuild[family.Index];
            if (seenAtMost > generation.Limits[family.Index])
            {
                return true;
            }
        }

        var retired = registry.RetiredSeries;
        return retired >= MinRetiredForRebuild && retired >= registry.Vms.Sum(vm => (long)vm.SeriesCount);
    }

    private void Rebuild(Generation? seen)
    {
        lock (rebuildGate)
        {
            if (current != seen)
            {
                return;
            }

            registry.TakeRetiredSeries();
            var histogramVersion = registry.HistogramVersion;
            var families = registry.Catalog;
            var created = families.Select(registry.CreatedSeries).ToArray();
            var live = families.Select(registry.LiveSeries).ToArray();
            var limits = live.Select(n => (int)Math.Min(int.MaxValue / 4, Math.Max(MinCardinalityLimit, 2 * n))).ToArray();
            var (provider, scrape, histograms) = Build(limits);
            var old = current;
            current = new Generation(provider, histograms, scrape, limits, live, created, histogramVersion);
            old?.Release();
            Rebuilds++;
        }
    }

    private (MeterProvider Provider, RequestDelegate Scrape, Meter Histograms) Build(int[] limits)
    {
        var histogramMeter = new Meter(ExporterMetrics.MeterName, ExporterMetrics.Version);
        var histograms = registry.Catalog.Where(f => f.Kind == MetricKind.Histogram)
            .Select(f => (Family: f, Instrument: histogramMeter.CreateHistogram<double>(f.Name, unit: null, description: f.Help))).ToList();
        var provider = Sdk.CreateMeterProviderBuilder()
            .AddMeter(ExporterMetrics.MeterName)
            // Only this exporter's meters: another instance in the same process (tests) has meters of the same name.
            .AddView(instrument => instrument.Meter == histogramMeter
                ? new ExplicitBucketHistogramConfiguration
                {
                    Boundaries = histograms.First(h => h.Family.Name == instrument.Name).Family.Bounds,
                    RecordMinMax = false,
                    CardinalityLimit = Math.Max(MinCardinalityLimit, 2 * registry.Vms.Count),
                }
                : instrument.Meter != metrics.Meter
                ? MetricStreamConfiguration.Drop
                : new MetricStreamConfiguration
                {
                    CardinalityLimit = registry.Catalog.FirstOrDefault(f => f.Name == instrument.Name) is { } family ? limits[family.Index] : MinCardinalityLimit,
                })
            .AddPrometheusExporter(options =>
            {
                options.ScopeInfoEnabled = false;
                options.TargetInfoEnabled = false;
            })
            .Build();
        foreach (var (family, instrument) in histograms)
        {
            foreach (var vm in registry.Vms)
            {
                vm.Replay(family, instrument);
            }
        }

        var branch = app.New();
        branch.UseOpenTelemetryPrometheusScrapingEndpoint(provider, predicate: _ => true, path: null, configureBranchedPipeline: null, optionsName: null);
        return (provider, branch.Build(), histogramMeter);
    }

    private sealed class Generation(MeterProvider provider, Meter histograms, RequestDelegate scrape, int[] limits, long[] liveAtBuild, long[] createdAtBuild, long histogramVersion)
    {
        private int leases = 1;

        public RequestDelegate Scrape { get; } = scrape;

        public int[] Limits { get; } = limits;

        public long[] LiveAtBuild { get; } = liveAtBuild;

        public long[] CreatedAtBuild { get; } = createdAtBuild;

        public long HistogramVersion { get; } = histogramVersion;

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
                provider.Dispose();
                histograms.Dispose();
            }
        }
    }
}
