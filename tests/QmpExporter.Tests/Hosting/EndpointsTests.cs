using System.Net;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Hosting;

/// <summary>The pages next to /metrics: /healthz for probes and / for people.</summary>
public sealed class EndpointsTests
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    [Fact]
    public async Task Healthz_answers_200_with_text_and_the_landing_page_names_every_VM()
    {
        await using var up = new FakeVm("web-1");
        await using var down = new FakeVm("db&2", c => c.WaitForCloseAsync());
        await using var exporter = await ExporterHost.StartAsync("--vm", up.Flag, "--vm", down.Flag);
        await exporter.WaitForAsync(s => s.IsSettled(up.Name), "the first VM connected");

        using var health = await Http.GetAsync(new Uri(exporter.BaseAddress, "/healthz"));
        using var landing = await Http.GetAsync(new Uri(exporter.BaseAddress, "/"));

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("text/plain", health.Content.Headers.ContentType?.MediaType);
        Assert.Equal("ok: 1 of 2 VMs connected\n", await health.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, landing.StatusCode);
        Assert.Equal("text/html", landing.Content.Headers.ContentType?.MediaType);
        var html = await landing.Content.ReadAsStringAsync();
        Assert.StartsWith("<!DOCTYPE html>", html, StringComparison.Ordinal);
        Assert.Contains($"<td>{up.Name}</td>", html, StringComparison.Ordinal);
        Assert.Contains($"<td>{down.Name.Replace("&", "&amp;", StringComparison.Ordinal)}</td>", html, StringComparison.Ordinal);
        Assert.Contains("unix:" + up.Socket, html, StringComparison.Ordinal);
        Assert.Contains("href=\"/metrics\"", html, StringComparison.Ordinal);
    }
}
