using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using QmpExporter.Hosting;
using QmpExporter.Telemetry;

namespace QmpExporter.Benchmarks;

/// <summary>
/// The real daemon, in this process: the DI graph of <see cref="ExporterApp.Build"/> with <c>--vm</c> arguments and
/// <c>--urls http://127.0.0.1:0</c>, started like <c>Program.cs</c> starts it. VMs can be added and removed at run time
/// through a configuration source of our own and <see cref="VmSupervisor.ReloadAsync"/>.
/// </summary>
internal sealed class ExporterUnderTest : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly HttpClient http;
    private readonly MutableVmSource.Provider? extraVms;

    private ExporterUnderTest(WebApplication app, Uri baseAddress, MutableVmSource.Provider? extraVms)
    {
        this.app = app;
        this.extraVms = extraVms;
        BaseAddress = baseAddress;
        http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
        Registry = app.Services.GetRequiredService<VmRegistry>();
        Supervisor = app.Services.GetRequiredService<VmSupervisor>();
        MetricsEndpoint = ((IEndpointRouteBuilder)app).DataSources.SelectMany(d => d.Endpoints).OfType<RouteEndpoint>()
            .FirstOrDefault(e => e.RoutePattern.RawText == "/metrics")?.RequestDelegate?.Target as MetricsEndpoint;
    }

    public Uri BaseAddress { get; }

    public VmRegistry Registry { get; }

    public VmSupervisor Supervisor { get; }

    /// <summary>The /metrics handler (found through the endpoint's delegate), for its rebuild count; null if not found.</summary>
    public MetricsEndpoint? MetricsEndpoint { get; }

    public static async Task<ExporterUnderTest> StartAsync(IEnumerable<(string Name, string Socket)> vms, IEnumerable<string> extraArgs, bool mutableVmList = false)
    {
        List<string> args =
        [
            "--urls", "http://127.0.0.1:0",
            .. extraArgs,
        ];
        foreach (var (name, socket) in vms)
        {
            args.Add("--vm");
            args.Add($"{name}={socket}");
        }

        var app = ExporterApp.Build([.. args]);
        MutableVmSource.Provider? provider = null;
        if (mutableVmList)
        {
            // WebApplication.Configuration is the builder's ConfigurationManager: a source added now is live.
            var source = new MutableVmSource();
            ((IConfigurationBuilder)app.Configuration).Add(source);
            provider = source.Instance;
        }

        await app.StartAsync().ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        return new ExporterUnderTest(app, new Uri(address), provider);
    }

    /// <summary>Replaces the VMs of our own configuration source and applies the change like a reload does.</summary>
    public Task SetExtraVmsAsync(IEnumerable<(string Name, string Socket)> vms)
    {
        (extraVms ?? throw new InvalidOperationException("started without a mutable VM list")).Set(vms);
        return Supervisor.ReloadAsync();
    }

    /// <summary>GET /metrics over HTTP like Prometheus; returns the body.</summary>
    public async Task<string> ScrapeAsync()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        request.Headers.Accept.ParseAdd("text/plain; version=0.0.4");
        using var response = await http.SendAsync(request).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsStringAsync().ConfigureAwait(false);
    }

    /// <summary>Sum of the samples of <paramref name="metric"/> for one VM in a scrape body.</summary>
    public static double SumSamples(string body, string metric, string vm)
    {
        var sum = 0.0;
        var vmLabel = $"vm=\"{vm}\"";
        foreach (var line in body.Split('\n'))
        {
            if (line.StartsWith(metric + "{", StringComparison.Ordinal) && line.Contains(vmLabel, StringComparison.Ordinal))
            {
                var value = line[(line.LastIndexOf(' ') + 1)..];
                sum += double.Parse(value, CultureInfo.InvariantCulture);
            }
        }

        return sum;
    }

    public sealed record ScrapeCheck(long RegistrySeries, long ScrapedSamples, IReadOnlyList<string> Differences)
    {
        public bool Same => Differences.Count == 0;

        public string Summary => Same
            ? $"{ScrapedSamples:N0} samples = {RegistrySeries:N0} registry series"
            : $"{ScrapedSamples:N0} samples vs {RegistrySeries:N0} registry series; differ: {string.Join(", ", Differences)}";
    }

    /// <summary>Counts the per-VM samples of every catalog family in a scrape and compares them with the registry's series.</summary>
    public static ScrapeCheck CompareWithRegistry(string body, VmRegistry registry)
    {
        var samples = new Dictionary<string, long>(StringComparer.Ordinal);
        var overflow = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in body.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var end = line.IndexOfAny(['{', ' ']);
            var name = end < 0 ? line : line[..end];
            samples[name] = samples.GetValueOrDefault(name) + 1;
            if (line.Contains("otel_metric_overflow", StringComparison.Ordinal))
            {
                overflow.Add(name);
            }
        }

        long inRegistry = 0, scraped = 0;
        var differences = new List<string>();
        var measurements = new List<System.Diagnostics.Metrics.Measurement<double>>();
        foreach (var family in MetricCatalog.All)
        {
            long count = 0;
            foreach (var vm in registry.Vms)
            {
                measurements.Clear();
                vm.Collect(family, measurements);
                count += measurements.Count;
            }

            var seen = samples.GetValueOrDefault(family.Name);
            inRegistry += count;
            scraped += seen;
            if (seen != count || overflow.Contains(family.Name))
            {
                differences.Add($"{family.Name} {seen}/{count}{(overflow.Contains(family.Name) ? " (otel_metric_overflow)" : "")}");
            }
        }

        return new ScrapeCheck(inRegistry, scraped, differences);
    }

    public async ValueTask DisposeAsync()
    {
        http.Dispose();
        await app.StopAsync().ConfigureAwait(false);
        await app.DisposeAsync().ConfigureAwait(false);
    }

    private sealed class MutableVmSource : IConfigurationSource
    {
        public Provider Instance { get; } = new();

        public IConfigurationProvider Build(IConfigurationBuilder builder) => Instance;

        public sealed class Provider : ConfigurationProvider
        {
            /// <summary>Above the indexes <c>--vm</c> uses (10000+), so both lists merge.</summary>
            private const int FirstIndex = 1_000_000;

            public void Set(IEnumerable<(string Name, string Socket)> vms)
            {
                var data = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
                var index = FirstIndex;
                foreach (var (name, socket) in vms)
                {
                    data[$"QmpExporter:Vms:{index}:Name"] = name;
                    data[$"QmpExporter:Vms:{index}:Socket"] = socket;
                    index++;
                }

                Data = data;
            }
        }
    }
}
