using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using QmpExporter.Hosting;
using QmpExporter.Mappings;
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

    /// <summary>The last scrape's body (see <see cref="ScrapeBytesAsync"/>), outside the managed heap so that it is not counted as the exporter's.</summary>
    private NativeBuffer body = new(1 << 20);

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
        var length = await ScrapeBytesAsync().ConfigureAwait(false);
        return System.Text.Encoding.UTF8.GetString(body.Memory.Span[..length]);
    }

    /// <summary>
    /// GET /metrics over HTTP like Prometheus; returns the body's length and leaves the bytes in a buffer of the
    /// benchmark's own. The client runs in the exporter's process, so it must not keep memory that would be counted
    /// as the exporter's: <c>HttpContent</c>'s own buffering (the default, <c>ResponseContentRead</c>) rents a buffer
    /// of the body's size from <c>ArrayPool&lt;byte&gt;.Shared</c> (<c>LimitArrayPoolWriteStream</c>), and the pool keeps
    /// it (1 MB arrays, one per thread and up to 32 per core). Reading the stream into one array allocated once
    /// avoids that, and avoids a large string per scrape. The array is native memory: it is not in the managed heap at
    /// either measuring point, and it adds its touched pages (about the largest body) to RSS only.
    /// </summary>
    public async Task<int> ScrapeBytesAsync()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        request.Headers.Accept.ParseAdd("text/plain; version=0.0.4");
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        await using var stream = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
        var length = 0;
        while (true)
        {
            if (length == body.Length)
            {
                body = body.Grow();
            }

            var n = await stream.ReadAsync(body.Memory[length..]).ConfigureAwait(false);
            if (n == 0)
            {
                return length;
            }

            length += n;
        }
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
        foreach (var family in EventMappings.Catalog)
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
        ((IDisposable)body).Dispose();
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

    /// <summary>A growable buffer in native memory, for <see cref="ScrapeBytesAsync"/>.</summary>
    private sealed unsafe class NativeBuffer(int length) : System.Buffers.MemoryManager<byte>
    {
        private byte* pointer = (byte*)System.Runtime.InteropServices.NativeMemory.Alloc((nuint)length);

        public int Length { get; } = length;

        /// <summary>A buffer twice as long with the same first bytes; this one is freed.</summary>
        public NativeBuffer Grow()
        {
            var bigger = new NativeBuffer(Length * 2);
            GetSpan().CopyTo(bigger.GetSpan());
            ((IDisposable)this).Dispose();
            return bigger;
        }

        public override Span<byte> GetSpan() => new(pointer, Length);

        public override System.Buffers.MemoryHandle Pin(int elementIndex = 0) => new(pointer + elementIndex);

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
            System.Runtime.InteropServices.NativeMemory.Free(pointer);
            pointer = null;
        }
    }
}
