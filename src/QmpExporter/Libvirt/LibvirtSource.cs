using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using QmpExporter.Configuration;
using QmpExporter.Hosting;
using QmpExporter.Mappings;
using QmpExporter.Qmp;
using QmpExporter.Sources;
using QmpExporter.Spans;
using QmpExporter.Telemetry;

namespace QmpExporter.Libvirt;

/// <summary>
/// Watches every running domain of one libvirt daemon through a single read-write connection: libvirt relays each
/// domain's QMP events (virConnectDomainQemuMonitorEventRegister for all domains and events), so a domain that starts
/// is covered from its first event, before its guest runs, with no socket or XML edit per domain. A domain that stops
/// departs as a dial-in VM does (<see cref="DepartedVms"/>): no qmp_up at once, its other series for the grace. When libvirtd goes away the close callback starts
/// a reconnect with backoff; every domain is then re-synced from libvirt's API.
/// </summary>
internal sealed class LibvirtSource : IHostedService, IAsyncDisposable
{
    /// <summary>The source's own gauge, one series per exporter (labelled by URI, not by VM): outside the per-VM catalog.</summary>
    public const string UpMetric = "qmp_libvirt_up";
    public const string UpHelp = "1 while the exporter's connection to libvirt (QmpExporter:Libvirt:Uri) is open and subscribed to every domain's events, else 0.";

    private static readonly ConcurrentDictionary<nint, LibvirtSource> Instances = new();
    private static long lastInstanceId;

    private readonly LibvirtOptions options;
    private readonly ExporterOptions exporterOptions;
    private readonly VmRegistry registry;
    private readonly TimeProvider time;
    private readonly ILoggerFactory loggers;
    private readonly SpanSource spans;
    private readonly DepartedVms departed;
    private readonly ILogger logger;
    private readonly nint id = (nint)Interlocked.Increment(ref lastInstanceId);
    private readonly Dictionary<string, LibvirtDomain> domains = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource stopping = new();
    private TaskCompletionSource<string> closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task running = Task.CompletedTask;
    private volatile bool up;

    public LibvirtSource(IOptions<LibvirtOptions> options, IOptions<ExporterOptions> exporterOptions, VmRegistry registry, ExporterMetrics metrics, SpanSource spans, DepartedVms departed, TimeProvider time, ILoggerFactory loggers)
    {
        this.spans = spans;
        this.departed = departed;
        this.options = options.Value;
        this.exporterOptions = exporterOptions.Value;
        this.registry = registry;
        this.time = time;
        this.loggers = loggers;
        logger = loggers.CreateLogger<LibvirtSource>();
        if (Enabled)
        {
            metrics.Meter.CreateObservableGauge(UpMetric, () => new Measurement<int>(up ? 1 : 0, new KeyValuePair<string, object?>("uri", this.options.Uri)), description: UpHelp);
        }
    }

    public bool Enabled => !string.IsNullOrEmpty(options.Uri);

    public bool IsUp => up;

    private string Uri => options.Uri!;

    public IReadOnlyCollection<LibvirtDomain> Domains
    {
        get
        {
            lock (domains)
            {
                return [.. domains.Values];
            }
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (Enabled)
        {
            LibvirtEventLoop.EnsureStarted();
            Instances[id] = this;
            running = Task.Run(() => RunAsync(stopping.Token), CancellationToken.None);
        }

        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await stopping.CancelAsync().ConfigureAwait(false);
        await running.ConfigureAwait(false);
        Instances.TryRemove(id, out _);
        await Task.WhenAll(Domains.Select(d => d.DisposeAsync().AsTask())).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync()
    {
        stopping.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var attempt = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            closed = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            var connection = await Task.Run(() => Open(out var problem) is var conn && conn != 0 ? (conn, problem) : (0, problem), cancellationToken).ConfigureAwait(false);
            if (connection.conn != 0)
            {
                attempt = 0;
                try
                {
                    var reason = await closed.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
                    Log.LibvirtConnectionClosed(logger, Uri, reason);
                }
                catch (OperationCanceledException)
                {
                }
                finally
                {
                    up = false;
                    Close(connection.conn);
                }
            }

            if (cancellationToken.IsCancellationRequested)
            {
                break;
            }

            var delay = Backoff(attempt++);
            if (connection.problem is not null)
            {
                Log.LibvirtConnectFailed(logger, Uri, connection.problem, delay.TotalSeconds);
            }

            try
            {
                await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    /// <summary>Opens the connection, subscribes to everything and takes over the running domains; 0 and a problem when that fails.</summary>
    private unsafe nint Open(out string? problem)
    {
        problem = null;
        var conn = LibvirtNative.virConnectOpen(Uri);
        if (conn == 0)
        {
            problem = "cannot connect: " + LibvirtNative.LastError();
            return 0;
        }

        // Keepalives notice a daemon that hangs or a peer that vanished without closing the socket; without them (a
        // remote end that does not support them) the close callback still reports every connection that ends.
        _ = LibvirtNative.virConnectSetKeepAlive(conn, 5, 3);
        if (LibvirtNative.virConnectRegisterCloseCallback(conn, &OnClosed, id, 0) != 0
            || LibvirtNative.virConnectDomainEventRegisterAny(conn, 0, LibvirtNative.EventIdLifecycle, (delegate* unmanaged<nint, nint, int, int, nint, void>)&OnLifecycle, id, 0) < 0
            || LibvirtNative.virConnectDomainEventRegisterAny(conn, 0, LibvirtNative.EventIdBlockJob2, (delegate* unmanaged<nint, nint, nint, int, int, nint, void>)&OnBlockJob, id, 0) < 0
            || LibvirtNative.virConnectDomainQemuMonitorEventRegister(conn, 0, 0, &OnQmpEvent, id, 0, 0) < 0)
        {
            // The relay needs a read-write connection: root, or the libvirt group where polkit allows it.
            problem = "cannot subscribe to domain events: " + LibvirtNative.LastError();
            _ = LibvirtNative.virConnectClose(conn);
            return 0;
        }

        var count = LibvirtNative.virConnectListAllDomains(conn, out var list, LibvirtNative.ListDomainsActive);
        if (count < 0)
        {
            problem = "cannot list domains: " + LibvirtNative.LastError();
            Close(conn);
            return 0;
        }

        var running = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            var dom = list[i];
            var name = LibvirtNative.DomainName(dom);
            running.Add(name);

            // The list's reference becomes the domain's.
            Running(dom, name, started: false);
        }

        NativeMemory.Free(list);

        // Domains that stopped while the exporter was not connected.
        foreach (var domain in Domains.Where(d => !running.Contains(d.Name) && d.Running))
        {
            Stopped(domain.Name);
        }

        up = true;
        Log.LibvirtConnected(logger, Uri, count);
        return conn;
    }

    private unsafe void Close(nint conn)
    {
        // Closing is best effort: the connection may be gone already, and a failure leaves nothing to undo.
        _ = LibvirtNative.virConnectUnregisterCloseCallback(conn, &OnClosed);
        foreach (var domain in Domains)
        {
            domain.Detach(stopped: false);
        }

        _ = LibvirtNative.virConnectClose(conn);
    }

    /// <summary>A domain runs: known ones are re-attached, new ones start being watched. Takes over the reference <paramref name="dom"/>.</summary>
    private LibvirtDomain Running(nint dom, string name, bool started)
    {
        LibvirtDomain domain;
        lock (domains)
        {
            if (!domains.TryGetValue(name, out domain!))
            {
                var polling = new PollSettings(exporterOptions.ActivePollInterval, exporterOptions.BlockStatsInterval, exporterOptions.FinishedJobRetention);
                domain = new LibvirtDomain(name, registry.GetOrAdd(name), polling, time, loggers.CreateLogger<LibvirtDomain>(), spans);
                domains.Add(name, domain);
                domain.Start();
            }
        }

        domain.Attach(dom, LibvirtNative.DomainUuid(dom), started);
        departed.Return(name);
        return domain;
    }

    /// <summary>A domain stopped: it departs, and leaves after the grace unless it starts again meanwhile.</summary>
    private void Stopped(string name)
    {
        LibvirtDomain? domain;
        lock (domains)
        {
            domains.TryGetValue(name, out domain);
        }

        if (domain is null)
        {
            return;
        }

        domain.Detach(stopped: true);
        var generation = domain.Generation;
        departed.Depart(name, () => ReleaseAsync(domain, generation));
    }

    /// <summary>Stops watching a departed domain, unless it ran again since: true when its series may go.</summary>
    private async ValueTask<bool> ReleaseAsync(LibvirtDomain domain, int generation)
    {
        lock (domains)
        {
            if (domain.Generation != generation || domain.Attached || !domains.Remove(domain.Name))
            {
                return false;
            }
        }

        await domain.DisposeAsync().ConfigureAwait(false);
        Log.LibvirtDomainDeparted(logger, domain.Name);
        return true;
    }

    /// <summary>The domain of an event, watched from its first event on (a started domain's come before libvirt reports it started).</summary>
    private LibvirtDomain? DomainOf(nint dom, bool watchIfNew)
    {
        var name = LibvirtNative.DomainName(dom);
        lock (domains)
        {
            // An event of a run that stopped (libvirt may relay QEMU's last events after the domain's stop) counts
            // for the domain but does not start it again.
            if (domains.TryGetValue(name, out var known) && (known.Attached || known.RunId == LibvirtNative.virDomainGetID(dom)))
            {
                return known;
            }
        }

        if (!watchIfNew)
        {
            return null;
        }

        // Fails only for an invalid handle, and libvirt passed this one.
        _ = LibvirtNative.virDomainRef(dom);
        return Running(dom, name, started: true);
    }

    private TimeSpan Backoff(int attempt)
    {
        var exponential = exporterOptions.ReconnectMinDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 30));
        var capped = Math.Min(exponential, exporterOptions.ReconnectMaxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds((capped / 2) + (Random.Shared.NextDouble() * capped / 2));
    }

    [UnmanagedCallersOnly]
    private static void OnClosed(nint conn, int reason, nint opaque)
    {
        if (Instances.TryGetValue(opaque, out var source))
        {
            source.closed.TrySetResult(reason switch
            {
                0 => "I/O error",
                1 => "end of file: libvirtd stopped or restarted",
                2 => "keepalive timeout",
                _ => "closed by the client",
            });
        }
    }

    [UnmanagedCallersOnly]
    private static void OnLifecycle(nint conn, nint dom, int lifecycleEvent, int detail, nint opaque)
    {
        if (!Instances.TryGetValue(opaque, out var source))
        {
            return;
        }

        switch (lifecycleEvent)
        {
            case 2: // started
                source.DomainOf(dom, watchIfNew: true);
                break;
            case 5: // stopped (shut down, destroyed, crashed, saved, migrated away, failed)
                source.Stopped(LibvirtNative.DomainName(dom));
                break;
        }
    }

    [UnmanagedCallersOnly]
    private static void OnBlockJob(nint conn, nint dom, nint disk, int type, int status, nint opaque)
    {
        if (Instances.TryGetValue(opaque, out var source))
        {
            source.DomainOf(dom, watchIfNew: false)?.OnBlockJobEnded();
        }
    }

    [UnmanagedCallersOnly]
    private static unsafe void OnQmpEvent(nint conn, nint dom, nint eventName, long seconds, uint microseconds, nint details, nint opaque)
    {
        if (!Instances.TryGetValue(opaque, out var source) || source.DomainOf(dom, watchIfNew: true) is not { } domain)
        {
            return;
        }

        var name = Utf8Interner.EventNames.Intern(MemoryMarshal.CreateReadOnlySpanFromNullTerminated((byte*)eventName));
        var data = details == 0 ? [] : MemoryMarshal.CreateReadOnlySpanFromNullTerminated((byte*)details);
        domain.OnEvent(name, seconds, microseconds, data);
    }
}
