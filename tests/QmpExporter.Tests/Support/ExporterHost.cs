using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using QmpExporter.Hosting;

using Xunit.Sdk;

namespace QmpExporter.Tests.Support;

/// <summary>
/// The real exporter, in process, on a free loopback port: the same <see cref="ExporterApp"/> the daemon runs,
/// scraped over HTTP like Prometheus does.
/// </summary>
internal sealed class ExporterHost : IAsyncDisposable
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private readonly WebApplication app;

    private ExporterHost(WebApplication app, Uri baseAddress)
    {
        this.app = app;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public IServiceProvider Services => app.Services;

    /// <summary>Starts the exporter with these command-line arguments, fast reconnects and a loopback port.</summary>
    public static async Task<ExporterHost> StartAsync(params string[] args)
    {
        string[] defaults =
        [
            "--urls", "http://127.0.0.1:0",
            "--QmpExporter:ReconnectMinDelay=00:00:00.100",
            "--QmpExporter:ReconnectMaxDelay=00:00:00.500",
            "--QmpExporter:GreetingTimeout=00:00:01",
            "--Logging:LogLevel:Default=Warning",
        ];
        var app = ExporterApp.Build([.. defaults, .. args]);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        return new ExporterHost(app, new Uri(address));
    }

    public async Task<Scrape> ScrapeAsync()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(BaseAddress, "/metrics"));
        request.Headers.Accept.ParseAdd("text/plain; version=0.0.4");
        using var response = await Http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return new Scrape(await response.Content.ReadAsStringAsync());
    }

    public Task<string> GetStringAsync(string path) => Http.GetStringAsync(new Uri(BaseAddress, path));

    /// <summary>Scrapes until <paramref name="done"/> holds.</summary>
    public Task<Scrape> WaitForAsync(Func<Scrape, bool> done, string what, TimeSpan? timeout = null) =>
        SettleAsync(what, s => done(s) ? null : "not yet", timeout ?? Eventually.DefaultTimeout);

    /// <summary>
    /// Scrapes until <paramref name="mismatch"/> says nothing (null) — the exporter caught up and agrees — and returns
    /// that scrape; on the deadline, fails with the last mismatch.
    /// </summary>
    public async Task<Scrape> SettleAsync(string what, Func<Scrape, string?> mismatch, TimeSpan? timeout = null)
    {
        string? last = null;
        try
        {
            return await Eventually.Get(ScrapeAsync, s => (last = mismatch(s)) is null, what, timeout ?? TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
            throw new XunitException($"timed out waiting for {what}; last mismatch: {last}");
        }
    }


    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
