using Microsoft.Extensions.Logging;
using QmpExporter.Configuration;
using QmpExporter.Hosting;
using QmpExporter.Mappings;
using QmpExporter.Qmp;
using QmpExporter.Spans;
using QmpExporter.Telemetry;

namespace QmpExporter.Sources;

/// <summary>Builds sessions for the sources with the same settings configured VMs get.</summary>
internal sealed class SessionFactory(ExporterOptions options, VmRegistry registry, TimeProvider time, ILoggerFactory loggers, SpanSource spans)
{
    private readonly QmpClientOptions clientOptions = new()
    {
        MaxLineBytes = options.MaxLineBytes,
        ConnectTimeout = options.ConnectTimeout,
        GreetingTimeout = options.GreetingTimeout,
        CommandTimeout = options.CommandTimeout,
        TimeProvider = time,
    };

    public QmpClientOptions ClientOptions => clientOptions;

    public VmSession Create(string name, IQmpConnector connector, Action<VmSession>? connectionEnded = null) =>
        new(name, connector, registry.GetOrAdd(name), clientOptions,
            new PollSettings(options.ActivePollInterval, options.BlockStatsInterval, options.FinishedJobRetention),
            options.ReconnectMinDelay, options.ReconnectMaxDelay, loggers.CreateLogger<VmSession>(), spans)
        {
            ConnectionEnded = connectionEnded,
        };
}
