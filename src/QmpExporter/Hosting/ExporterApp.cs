using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using QmpExporter.Configuration;
using QmpExporter.Libvirt;
using QmpExporter.Mappings;
using QmpExporter.Spans;
using QmpExporter.Telemetry;

namespace QmpExporter.Hosting;

/// <summary>Builds the daemon: configuration, VM sessions, <c>/metrics</c>, <c>/healthz</c> and the landing page.</summary>
internal static class ExporterApp
{
    /// <summary>Where the exporter listens unless <c>--urls</c> (or <c>ASPNETCORE_URLS</c>, or <c>urls</c> in appsettings.json) says otherwise.</summary>
    public const string DefaultUrls = "http://*:9719";

    /// <summary>
    /// Spans are exported over OTLP when the standard OTEL_EXPORTER_OTLP_ENDPOINT (or _TRACES_ENDPOINT) is set, as an
    /// environment variable or any other configuration source; without one nothing is exported or attempted. The other
    /// OTEL_* variables (protocol, headers, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES) apply as usual.
    /// </summary>
    private static void AddTracing(WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        if (string.IsNullOrEmpty(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]) && string.IsNullOrEmpty(configuration["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]))
        {
            return;
        }

        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource
                .AddService(configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } name ? name : "qmp-exporter", serviceVersion: ExporterMetrics.Version)
                .AddAttributes([new("host.name", Environment.MachineName)]))
            .WithTracing(tracing => tracing
                .AddSource(QmpTracing.SourceName)
                .SetSampler(new AlwaysOnSampler())
                .AddOtlpExporter());
    }

    /// <summary>The dial-in socket and the discovered sockets, after the configured VMs (their names come first).</summary>
    private static void AddSources(IServiceCollection services)
    {
        services.AddSingleton(sp => new Sources.DepartedVms(
            sp.GetRequiredService<VmRegistry>(), sp.GetRequiredService<IOptions<ExporterOptions>>().Value.DepartedVmGrace,
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<Sources.DepartedVms>>()));
        services.AddSingleton<Sources.ListeningSource>();
        services.AddHostedService(sp => sp.GetRequiredService<Sources.ListeningSource>());
        services.AddSingleton<Sources.DiscoverySource>();
        services.AddHostedService(sp => sp.GetRequiredService<Sources.DiscoverySource>());
    }

    /// <exception cref="OptionsValidationException">A <c>--vm</c> shorthand or a setting is invalid.</exception>
    public static WebApplication Build(string[] args)
    {
        var shorthandVms = new List<KeyValuePair<string, string?>>();
        var errors = new List<string>();
        var rest = LibvirtShorthand.Extract(SourceShorthand.Extract(VmShorthand.Extract(args, shorthandVms, errors), shorthandVms, errors), shorthandVms);
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(ExporterOptions.Section, typeof(ExporterOptions), errors);
        }

        // appsettings.json is read from beside the binary unless --contentRoot names another folder (e.g. /etc/qmp-exporter).
        var contentRoot = new ConfigurationBuilder().AddCommandLine(rest).Build()[WebHostDefaults.ContentRootKey];
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = rest,
            ContentRootPath = string.IsNullOrEmpty(contentRoot) ? AppContext.BaseDirectory : contentRoot,
        });
        builder.Configuration.AddInMemoryCollection(shorthandVms);
        builder.Host.UseSystemd();
        if (string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.ServerUrlsKey]))
        {
            builder.WebHost.UseUrls(DefaultUrls);
        }

        var services = builder.Services;
        services.AddOptions<ExporterOptions>().BindConfiguration(ExporterOptions.Section).ValidateOnStart();
        services.AddSingleton(sp => new ExporterOptionsValidator(sp.GetRequiredService<IConfiguration>()));
        services.AddSingleton<IValidateOptions<ExporterOptions>>(sp => sp.GetRequiredService<ExporterOptionsValidator>());
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(sp => new VmRegistry(EventMappings.Catalog, sp.GetRequiredService<IOptions<ExporterOptions>>().Value.MaxSeriesPerVm));
        services.AddSingleton<ExporterMetrics>();
        services.AddSingleton<SpanSource>();
        services.AddSingleton<VmSupervisor>();
        services.AddHostedService(sp => sp.GetRequiredService<VmSupervisor>());
        AddSources(services);
        LibvirtServices.Add(services);

        AddTracing(builder);
        var app = builder.Build();
        var metrics = new MetricsEndpoint(app, app.Services.GetRequiredService<ExporterMetrics>(), app.Services.GetRequiredService<VmRegistry>());
        app.Lifetime.ApplicationStopped.Register(metrics.Dispose);
        Endpoints.Map(app, metrics, app.Services.GetRequiredService<VmSupervisor>());
        return app;
    }
}
