using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using QmpExporter.Configuration;
using QmpExporter.Libvirt;
using QmpExporter.Mappings;
using QmpExporter.Spans;
using QmpExporter.Telemetry;
using QmpExporter.Web;

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

        // The OTLP exporter's span limits, unless the operator set them: the same bounds the spans are built with.
        var limits = new Dictionary<string, string?>
        {
            ["OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT"] = $"{QmpTracing.MaxAttributeLength}",
            ["OTEL_SPAN_EVENT_COUNT_LIMIT"] = $"{QmpTracing.MaxEventsPerSpan}",
            ["OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT"] = $"{QmpTracing.MaxEventAttributes}",
        };
        configuration.AddInMemoryCollection(limits.Where(limit => string.IsNullOrEmpty(configuration[limit.Key])));

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

    /// <summary>Builds the daemon from command-line arguments (the way tests and benchmarks start it).</summary>
    /// <exception cref="ArgumentException">The arguments have an unknown option or a missing value.</exception>
    /// <exception cref="OptionsValidationException">A <c>--vm</c> shorthand or a setting is invalid.</exception>
    /// <exception cref="StartupException">The web configuration or its certificates cannot be used.</exception>
    public static WebApplication Build(string[] args)
    {
        var commandLine = ExporterCommandLine.Parse(args);
        return commandLine.UsageErrors.Count > 0 ? throw new ArgumentException(string.Join("; ", commandLine.UsageErrors), nameof(args)) : Build(commandLine);
    }

    /// <exception cref="OptionsValidationException">A <c>--vm</c> shorthand or a setting is invalid.</exception>
    /// <exception cref="StartupException">The web configuration or its certificates cannot be used.</exception>
    public static WebApplication Build(ExporterCommandLine commandLine)
    {
        if (commandLine.ValueErrors.Count > 0)
        {
            throw new OptionsValidationException(ExporterOptions.Section, typeof(ExporterOptions), commandLine.ValueErrors);
        }

        // appsettings.json is read from beside the binary unless --contentRoot names another folder (e.g. /etc/qmp-exporter).
        var contentRoot = commandLine[ExporterCommandLine.ContentRootKey];
        WebApplicationBuilder builder;
        try
        {
            builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
            {
                Args = commandLine.ConfigurationArguments,
                ContentRootPath = string.IsNullOrEmpty(contentRoot) ? AppContext.BaseDirectory : contentRoot,
            });
        }
        catch (InvalidDataException e)
        {
            throw new OptionsValidationException(ExporterOptions.Section, typeof(ExporterOptions), [$"{e.Message} {e.InnerException?.Message}"]);
        }

        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = LineLoggerProvider.DefaultLevels });
        builder.Configuration.AddInMemoryCollection(commandLine.Settings);
        ConfigurationCheck.ReportLoadErrorsHere(builder.Configuration);
        if (ConfigurationCheck.Errors(builder.Configuration, new HashSet<string>()) is { Count: > 0 } unusable)
        {
            throw new OptionsValidationException(ExporterOptions.Section, typeof(ExporterOptions), unusable);
        }

        builder.Host.UseSystemd();
        builder.Logging.ClearProviders().AddProvider(LineLoggerProvider.FromConfiguration(builder.Configuration, Console.Error));
        var security = WebSecurity.AddTo(builder, DefaultUrls);
        builder.Services.AddSingleton(security);
        builder.Services.AddHostedService<HangupReload>();

        var services = builder.Services;
        services.AddOptions<ExporterOptions>().BindConfiguration(ExporterOptions.Section).ValidateOnStart();
        services.AddSingleton(sp => new ExporterOptionsValidator(sp.GetRequiredService<IConfiguration>()));
        services.AddSingleton<IValidateOptions<ExporterOptions>>(sp => sp.GetRequiredService<ExporterOptionsValidator>());
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<ExporterOptions>>().Value;
            return new VmRegistry(EventMappings.Catalog, options.MaxSeriesPerVm, options.MaxScrapeBytes);
        });
        services.AddSingleton<ExporterHealth>();
        services.AddSingleton<ExporterMetrics>();
        services.AddSingleton<SpanSource>();
        services.AddSingleton<VmSupervisor>();
        services.AddHostedService(sp => sp.GetRequiredService<VmSupervisor>());
        AddSources(services);
        LibvirtServices.Add(services);

        HttpLimits.Add(builder);
        AddTracing(builder);
        var app = builder.Build();
        security.Logger = app.Services.GetRequiredService<ILogger<WebSecurity>>();
        security.Use(app);
        var metrics = new MetricsEndpoint(app, app.Services.GetRequiredService<ExporterMetrics>(), app.Services.GetRequiredService<VmRegistry>(),
            app.Services.GetRequiredService<ExporterHealth>(), app.Services.GetRequiredService<ILoggerFactory>().CreateLogger<MetricsEndpoint>());
        app.Lifetime.ApplicationStopped.Register(metrics.Dispose);
        Endpoints.Map(app, metrics, app.Services.GetRequiredService<VmSupervisor>());
        return app;
    }
}
