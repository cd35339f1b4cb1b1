using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using QmpExporter.Telemetry;

namespace QmpExporter.Hosting;

/// <summary>The HTTP surface: <c>/metrics</c> for Prometheus, <c>/healthz</c> for liveness probes, <c>/</c> for people.</summary>
internal static class Endpoints
{
    public static void Map(WebApplication app, MetricsEndpoint metrics, VmSupervisor supervisor)
    {
        // Scrapers GET (or HEAD); any other method is a 405, never a scrape.
        app.MapMethods("/metrics", [HttpMethods.Get, HttpMethods.Head], metrics.HandleAsync);

        // Liveness of the daemon itself: a VM that is down shows in qmp_up, it must not get the exporter restarted.
        app.MapGet("/healthz", (RequestDelegate)(context =>
        {
            var sessions = supervisor.Sessions;
            context.Response.ContentType = "text/plain; charset=utf-8";
            return context.Response.WriteAsync($"ok: {sessions.Count(s => s.IsUp)} of {sessions.Count} VMs connected\n");
        }));

        app.MapGet("/", (RequestDelegate)(context =>
        {
            context.Response.ContentType = "text/html; charset=utf-8";
            return context.Response.WriteAsync(LandingPage(supervisor));
        }));
    }

    private static string LandingPage(VmSupervisor supervisor)
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>QmpExporter</title></head><body>")
            .Append("<h1>QmpExporter ").Append(WebUtility.HtmlEncode(ExporterMetrics.Version)).Append("</h1>")
            .Append("<p><a href=\"/metrics\">Metrics</a> &middot; <a href=\"/healthz\">Health</a></p>")
            .Append("<table border=\"1\" cellpadding=\"4\"><tr><th>VM</th><th>QMP socket</th><th>connected</th></tr>");
        foreach (var session in supervisor.Sessions.OrderBy(s => s.Name, StringComparer.Ordinal))
        {
            html.Append("<tr><td>").Append(WebUtility.HtmlEncode(session.Name))
                .Append("</td><td>").Append(WebUtility.HtmlEncode(session.Endpoint.ToString()))
                .Append("</td><td>").Append(session.IsUp ? "yes" : "no").Append("</td></tr>");
        }

        return html.Append("</table></body></html>").ToString();
    }
}
