using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using QmpExporter.Configuration;
using QmpExporter.Mappings;
using QmpExporter.Qmp;
using QmpExporter.Spans;
using QmpExporter.Telemetry;

namespace QmpExporter.Hosting;

/// <summary>
/// Keeps one <see cref="VmSession"/> per configured VM. A change to the VM list in the configuration files applies
/// without a restart: new VMs start, removed ones stop and leave <c>/metrics</c>, a VM whose socket changed
/// reconnects and keeps its counters. A reload that does not validate is logged and ignored.
/// </summary>
internal sealed class VmSupervisor(
    IConfiguration configuration,
    IOptions<ExporterOptions> startupOptions,
    ExporterOptionsValidator validator,
    VmRegistry registry,
    SpanSource spans,
    ExporterHealth health,
    TimeProvider time,
    ILoggerFactory loggers) : IHostedService, IAsyncDisposable
{
    private readonly ILogger logger = loggers.CreateLogger<VmSupervisor>();
    private readonly SemaphoreSlim gate = new(1, 1);
    private readonly Dictionary<string, VmSession> sessions = new(StringComparer.Ordinal);
    private readonly List<Sources.IVmSource> sources = [];
    private IDisposable? reloads;
    private HashSet<string> settingsFiles = [];
    private bool stopped;

    public IReadOnlyCollection<VmSession> Sessions
    {
        get
        {
            List<VmSession> all;
            lock (sessions)
            {
                all = [.. sessions.Values];
            }

            lock (sources)
            {
                all.AddRange(sources.SelectMany(s => s.Sessions));
            }

            return all;
        }
    }

    /// <summary>Shows the sessions of another source (dial-ins, discovered sockets) in <see cref="Sessions"/>.</summary>
    public void AddSource(Sources.IVmSource source)
    {
        lock (sources)
        {
            sources.Add(source);
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        settingsFiles = ConfigurationCheck.ExistingFiles(configuration);
        await ApplyAsync(startupOptions.Value.Vms).ConfigureAwait(false);
        reloads = ChangeToken.OnChange(configuration.GetReloadToken, () => _ = ReloadAsync());
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        reloads?.Dispose();
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            stopped = true;
            await Task.WhenAll(ConfiguredSessions.Select(s => s.DisposeAsync().AsTask())).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    public ValueTask DisposeAsync()
    {
        reloads?.Dispose();
        gate.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Re-reads the VM list; the other settings stay as they were at start-up. Public for tests that change the
    /// configuration in memory.
    /// </summary>
    public async Task ReloadAsync()
    {
        var errors = ConfigurationCheck.Errors(configuration, settingsFiles);
        if (errors.Count == 0 && !ConfigurationCheck.HasVmList(configuration) && ConfiguredSessions.Count > 0)
        {
            errors.Add($"{ExporterOptions.Section}:{nameof(ExporterOptions.Vms)} is missing (a misspelt key or a removed section); to watch no VMs, say \"Vms\": []");
        }

        var vms = new List<VmOptions>();
        if (errors.Count == 0)
        {
            configuration.GetSection(ExporterOptions.Section + ":" + nameof(ExporterOptions.Vms)).Bind(vms);
            errors = validator.VmErrors(vms, startupOptions.Value.AllowManagementSockets);
        }

        if (errors.Count > 0)
        {
            health.OnConfigReloadFailed();
            Log.ReloadRejected(logger, string.Join("; ", errors));
            return;
        }

        if (vms.Count == 0 && ConfiguredSessions.Count > 0)
        {
            Log.AllVmsRemoved(logger, ConfiguredSessions.Count);
        }

        settingsFiles = ConfigurationCheck.ExistingFiles(configuration);
        await ApplyAsync(vms).ConfigureAwait(false);
    }

    private async Task ApplyAsync(List<VmOptions> vms)
    {
        var options = startupOptions.Value;
        await gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (stopped)
            {
                return;
            }

            var wanted = vms.ToDictionary(vm => vm.Name, vm => Parse(vm.Socket), StringComparer.Ordinal);
            var removed = new List<string>();
            var added = new List<string>();
            foreach (var session in ConfiguredSessions)
            {
                if (!wanted.TryGetValue(session.Name, out var endpoint) || endpoint != session.Endpoint)
                {
                    await session.DisposeAsync().ConfigureAwait(false);
                    lock (sessions)
                    {
                        sessions.Remove(session.Name);
                    }

                    if (endpoint is null)
                    {
                        registry.Remove(session.Name);
                        removed.Add(session.Name);
                    }
                }
            }

            var clientOptions = new QmpClientOptions
            {
                MaxLineBytes = options.MaxLineBytes,
                ConnectTimeout = options.ConnectTimeout,
                GreetingTimeout = options.GreetingTimeout,
                CommandTimeout = options.CommandTimeout,
                TimeProvider = time,
            };
            var polling = new PollSettings(options.ActivePollInterval, options.BlockStatsInterval, options.FinishedJobRetention);
            foreach (var (name, endpoint) in wanted)
            {
                lock (sessions)
                {
                    if (sessions.ContainsKey(name))
                    {
                        continue;
                    }
                }

                var session = new VmSession(name, endpoint, registry.GetOrAdd(name), clientOptions, polling,
                    options.ReconnectMinDelay, options.ReconnectMaxDelay, loggers.CreateLogger<VmSession>(), spans);
                lock (sessions)
                {
                    sessions.Add(name, session);
                }

                session.Start();
                added.Add(name);
            }

            if (added.Count > 0 || removed.Count > 0)
            {
                Log.VmsChanged(logger, wanted.Count, added, removed);
            }
        }
        finally
        {
            gate.Release();
        }
    }

    private List<VmSession> ConfiguredSessions
    {
        get
        {
            lock (sessions)
            {
                return [.. sessions.Values];
            }
        }
    }

    private static QmpEndpoint Parse(string socket) =>
        QmpEndpoint.TryParse(socket, out var endpoint, out var error) ? endpoint : throw new InvalidOperationException(error);
}
