using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using QmpExporter.Tests.RealQemu;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Tracing;

/// <summary>The exporter's spans reach an OTLP/HTTP receiver configured the standard way, from a real QEMU's events.</summary>
public sealed class OtlpExportTests
{
    [Fact]
    public async Task Spans_are_posted_as_otlp_http_protobuf_to_the_configured_endpoint()
    {
        var received = new ConcurrentQueue<(string ContentType, byte[] Body)>();
        var receiverBuilder = WebApplication.CreateSlimBuilder();
        receiverBuilder.WebHost.UseUrls("http://127.0.0.1:0");
        receiverBuilder.Logging.ClearProviders();
        await using var receiver = receiverBuilder.Build();
        receiver.MapPost("/v1/traces", (RequestDelegate)(async context =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            received.Enqueue((context.Request.ContentType ?? "", body.ToArray()));
            context.Response.StatusCode = 200;
        }));
        await receiver.StartAsync();
        var endpoint = receiver.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();

        await using var rig = await QemuRig.StartAsync("otlp", exporterArgs:
        [
            $"--OTEL_EXPORTER_OTLP_ENDPOINT={endpoint}",
            "--OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
            "--OTEL_BSP_SCHEDULE_DELAY=200",
            "--OTEL_SERVICE_NAME=qmp-exporter-test",
        ]);
        var (vm, name) = (rig.Qemu, rig.Vm);

        await vm.ExecuteAsync("stop");
        await vm.ExecuteAsync("cont");

        // The incident span ends after two quiet seconds, then the batch processor posts it.
        await Eventually.True(() => received.Any(r => Contains(r.Body, name) && Contains(r.Body, "qemu.incident")), "a POST /v1/traces with the VM's incident span", TimeSpan.FromSeconds(20));
        var (contentType, body) = received.First(r => Contains(r.Body, name) && Contains(r.Body, "qemu.incident"));
        Assert.Equal("application/x-protobuf", contentType);
        Assert.True(Contains(body, "STOP") && Contains(body, "RESUME"), "the span events are named after the QMP events");
        Assert.True(Contains(body, "qmp-exporter-test"), "service.name comes from OTEL_SERVICE_NAME");
        Assert.True(Contains(body, "host.name"), "the resource names the host");
    }

    private static bool Contains(byte[] body, string text) => body.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0;
}
