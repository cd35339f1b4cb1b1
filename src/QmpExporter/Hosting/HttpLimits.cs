using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using QmpExporter.Configuration;
using QmpExporter.Mappings;
using QmpExporter.Telemetry;

namespace QmpExporter.Hosting;

/// <summary>
/// Whoever reaches the port must not be able to use up the process's file descriptors: idle and slow connections
/// are closed after a while, and at most QmpExporter:MaxHttpConnections (and never more than a quarter of the descriptors
/// free at start-up) are open at once. Past that the exporter stops accepting, so further connections wait in the
/// kernel's listen backlog and cost it nothing; Kestrel's own connection limit would accept and close each of them,
/// which under a flood takes descriptors faster than it gives them back. Reaching the limit is counted, and logged
/// the first time and then at most every ten minutes.
/// </summary>
internal static partial class HttpLimits
{
    /// <summary>Longer than a 15 s scrape interval, so Prometheus keeps its connection; short enough to shed idle ones.</summary>
    private static readonly TimeSpan KeepAliveTimeout = TimeSpan.FromSeconds(60);

    private static readonly TimeSpan RequestHeadersTimeout = TimeSpan.FromSeconds(10);

    public static void Add(WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<KestrelServerOptions>().Configure(kestrel =>
        {
            kestrel.Limits.MaxConcurrentUpgradedConnections = 0;
            kestrel.Limits.KeepAliveTimeout = KeepAliveTimeout;
            kestrel.Limits.RequestHeadersTimeout = RequestHeadersTimeout;
        });

        // Registered last, so Kestrel binds through it rather than through the plain socket transport.
        builder.Services.AddSingleton<IConnectionListenerFactory>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<ExporterOptions>>().Value;
            var limit = (int)Math.Max(1, Math.Min(options.MaxHttpConnections, FreeDescriptors() / 4));
            return new LimitedListenerFactory(
                new SocketTransportFactory(sp.GetRequiredService<IOptions<SocketTransportOptions>>(), sp.GetRequiredService<ILoggerFactory>()),
                limit, sp.GetRequiredService<ExporterHealth>(), sp.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(HttpLimits)));
        });
    }

    /// <summary>The soft RLIMIT_NOFILE less the descriptors open now; a large number where /proc does not tell.</summary>
    private static long FreeDescriptors()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/limits"))
            {
                if (line.StartsWith("Max open files", StringComparison.Ordinal))
                {
                    var soft = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
                    return long.TryParse(soft, out var limit) ? limit - Directory.GetFileSystemEntries("/proc/self/fd").Length : long.MaxValue;
                }
            }
        }
        catch (IOException)
        {
            // No /proc: the configured maximum alone applies.
        }

        return long.MaxValue;
    }

    [LoggerMessage(EventId = 21, Level = LogLevel.Warning,
        Message = "All {Limit} HTTP connections are in use: new ones wait until some close ({Total} times so far, {Suppressed} since the last line; qmp_exporter_http_connection_limit_reached_total)")]
    private static partial void LogLimitReached(ILogger logger, int limit, long total, int suppressed);

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001:Types that own disposable fields should be disposable",
        Justification = "The semaphore's wait handle is never created; connections may still give slots back while the host disposes its services.")]
    private sealed class LimitedListenerFactory(IConnectionListenerFactory inner, int limit, ExporterHealth health, ILogger logger) : IConnectionListenerFactory
    {
        private readonly SemaphoreSlim slots = new(limit, limit);
        private readonly LogThrottle limitLog = new(TimeProvider.System, TimeSpan.FromMinutes(10));

        public async ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default) =>
            new LimitedListener(await inner.BindAsync(endpoint, cancellationToken).ConfigureAwait(false), this);

        public async ValueTask TakeSlotAsync(CancellationToken cancellationToken)
        {
            if (slots.Wait(0, CancellationToken.None))
            {
                return;
            }

            var first = health.OnConnectionLimitReached();
            if (limitLog.TryEnter(out var suppressed) || first)
            {
                LogLimitReached(logger, limit, health.ConnectionLimitReached, suppressed);
            }

            await slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        public void ReleaseSlot() => slots.Release();
    }

    private sealed class LimitedListener(IConnectionListener inner, LimitedListenerFactory factory) : IConnectionListener
    {
        public EndPoint EndPoint => inner.EndPoint;

        public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
        {
            try
            {
                await factory.TakeSlotAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return null;
            }

            ConnectionContext? connection;
            try
            {
                connection = await inner.AcceptAsync(cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                factory.ReleaseSlot();
                throw;
            }

            if (connection is null)
            {
                factory.ReleaseSlot();
                return null;
            }

            return new SlotConnection(connection, factory);
        }

        public ValueTask UnbindAsync(CancellationToken cancellationToken = default) => inner.UnbindAsync(cancellationToken);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }

    /// <summary>The accepted connection, giving its slot back once, when Kestrel disposes it (its socket is closed then).</summary>
    private sealed class SlotConnection(ConnectionContext inner, LimitedListenerFactory factory) : ConnectionContext
    {
        private int released;

        public override string ConnectionId { get => inner.ConnectionId; set => inner.ConnectionId = value; }

        public override IFeatureCollection Features => inner.Features;

        public override IDictionary<object, object?> Items { get => inner.Items; set => inner.Items = value; }

        public override IDuplexPipe Transport { get => inner.Transport; set => inner.Transport = value; }

        public override CancellationToken ConnectionClosed { get => inner.ConnectionClosed; set => inner.ConnectionClosed = value; }

        public override EndPoint? LocalEndPoint { get => inner.LocalEndPoint; set => inner.LocalEndPoint = value; }

        public override EndPoint? RemoteEndPoint { get => inner.RemoteEndPoint; set => inner.RemoteEndPoint = value; }

        public override void Abort(ConnectionAbortedException abortReason) => inner.Abort(abortReason);

        public override async ValueTask DisposeAsync()
        {
            try
            {
                await inner.DisposeAsync().ConfigureAwait(false);
            }
            finally
            {
                if (Interlocked.Exchange(ref released, 1) == 0)
                {
                    factory.ReleaseSlot();
                }

                await base.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
