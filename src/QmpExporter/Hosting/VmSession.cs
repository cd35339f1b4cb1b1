using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using QmpExporter.Mappings;
using QmpExporter.Qmp;
using QmpExporter.Telemetry;

namespace QmpExporter.Hosting;

/// <summary>
/// The supervised QMP session of one VM: connects, negotiates, re-queries state after every (re)connect and after
/// run-state events, and reconnects with capped exponential backoff and jitter. Nothing escapes it: a failing,
/// hanging or flooding VM only ever affects its own series.
/// </summary>
internal sealed class VmSession : IQmpEventHandler, IVmContext, IAsyncDisposable
{
    private const int StatusRetries = 5;
    private static readonly TimeSpan ErrorLogWindow = TimeSpan.FromSeconds(10);

    private readonly QmpEndpoint endpoint;
    private readonly QmpClientOptions clientOptions;
    private readonly TimeSpan minDelay;
    private readonly TimeSpan maxDelay;
    private readonly ILogger logger;
    private readonly CancellationTokenSource stopping = new();
    private readonly Channel<bool> statusRequests = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private Task running = Task.CompletedTask;
    private int runStateGeneration;
    private long errorWindowStart;
    private int errorsInWindow;

    public VmSession(string name, QmpEndpoint endpoint, VmSeries series, QmpClientOptions clientOptions, TimeSpan minDelay, TimeSpan maxDelay, ILogger logger)
    {
        Name = name;
        this.endpoint = endpoint;
        Series = series;
        this.clientOptions = clientOptions;
        this.minDelay = minDelay;
        this.maxDelay = maxDelay;
        this.logger = logger;
        series.Set(MetricCatalog.Up, SeriesKey.None, 0);
        series.Add(MetricCatalog.Connects, SeriesKey.None, 0);
        series.Add(MetricCatalog.Disconnects, SeriesKey.None, 0);
        series.Add(MetricCatalog.Stops, SeriesKey.None, 0);
        foreach (var reason in QmpProtocolErrorReasons.All)
        {
            series.Add(MetricCatalog.ProtocolErrors, new SeriesKey(reason), 0);
        }
    }

    public string Name { get; }

    public QmpEndpoint Endpoint => endpoint;

    public VmSeries Series { get; }

    public bool IsUp => Series.Get(MetricCatalog.Up, SeriesKey.None) == 1;

    private TimeProvider Time => clientOptions.TimeProvider;

    public void Start() => running = Task.Run(() => RunAsync(stopping.Token));

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync().ConfigureAwait(false);
        await running.ConfigureAwait(false);
        stopping.Dispose();
    }

    public void OnEvent(in QmpEvent evt)
    {
        Series.RecordEvent(evt.Name, evt.TimestampSeconds);
        if (EventMappings.ByEvent.TryGetValue(evt.Name, out var mapping))
        {
            mapping.Apply(evt, this);
        }
    }

    public void OnProtocolError(string reason, string detail)
    {
        Series.Add(MetricCatalog.ProtocolErrors, new SeriesKey(reason));
        LogProtocolError(reason, detail);
    }

    public void RequestStatusRefresh()
    {
        Interlocked.Increment(ref runStateGeneration);
        statusRequests.Writer.TryWrite(true);
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var attempt = 0;
        string? lastProblem = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            string? problem = null;
            try
            {
                var client = await QmpClient.ConnectAsync(endpoint, this, clientOptions, cancellationToken).ConfigureAwait(false);
                await using (client.ConfigureAwait(false))
                {
                    attempt = 0;
                    lastProblem = null;
                    OnConnected(client.Greeting);
                    OnDisconnected(await ServeAsync(client, cancellationToken).ConfigureAwait(false));
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (QmpException e)
            {
                if (e is QmpProtocolException protocol)
                {
                    Series.Add(MetricCatalog.ProtocolErrors, new SeriesKey(protocol.Reason));
                }

                problem = e.Message;
            }
            catch (Exception e)
            {
                Log.SessionCrashed(logger, Name, e);
                problem = e.Message;
            }

            var delay = Backoff(attempt++);
            if (problem is null)
            {
                // A session that ended is logged by OnDisconnected; the first reconnect comes after the shortest delay.
            }
            else if (problem != lastProblem)
            {
                Log.ConnectFailed(logger, Name, problem, delay.TotalSeconds);
                lastProblem = problem;
            }
            else
            {
                Log.ConnectStillFailing(logger, Name, problem, delay.TotalSeconds);
            }

            try
            {
                await Task.Delay(delay, Time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        Series.Set(MetricCatalog.Up, SeriesKey.None, 0);
    }

    /// <summary>Serves one negotiated connection until it ends; returns why it ended.</summary>
    private async Task<string> ServeAsync(QmpClient client, CancellationToken cancellationToken)
    {
        using var connection = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            await QueryVersionAsync(client, connection.Token).ConfigureAwait(false);
            await QueryStatusAsync(client, connection.Token).ConfigureAwait(false);
            while (true)
            {
                var request = statusRequests.Reader.WaitToReadAsync(connection.Token).AsTask();
                if (await Task.WhenAny(request, client.Completion).ConfigureAwait(false) == client.Completion)
                {
                    await client.Completion.ConfigureAwait(false);
                    return "end of stream (QEMU exited or closed the monitor)";
                }

                statusRequests.Reader.TryRead(out _);
                await QueryStatusAsync(client, connection.Token).ConfigureAwait(false);
            }
        }
        catch (QmpDisconnectedException)
        {
            return "end of stream (QEMU exited or closed the monitor)";
        }
        catch (QmpProtocolException e)
        {
            Series.Add(MetricCatalog.ProtocolErrors, new SeriesKey(e.Reason));
            return e.Message;
        }
        finally
        {
            await connection.CancelAsync().ConfigureAwait(false);
        }
    }

    private async Task QueryVersionAsync(QmpClient client, CancellationToken cancellationToken)
    {
        var version = await TryExecuteAsync(client, "query-version", cancellationToken).ConfigureAwait(false);
        if (version is { ValueKind: JsonValueKind.Object } v && v.TryGetProperty("qemu", out var qemu) && qemu.ValueKind == JsonValueKind.Object)
        {
            var text = $"{qemu.GetProperty("major")}.{qemu.GetProperty("minor")}.{qemu.GetProperty("micro")}";
            var package = v.TryGetProperty("package", out var p) ? p.GetString()?.Trim() ?? "" : "";
            SetInfo(text, package);
        }
    }

    /// <summary>
    /// Runs <c>query-status</c> and applies it unless a run-state event came in meanwhile, in which case the answer
    /// may already be stale and the query runs again.
    /// </summary>
    private async Task QueryStatusAsync(QmpClient client, CancellationToken cancellationToken)
    {
        for (var tries = 1; ; tries++)
        {
            var generation = Volatile.Read(ref runStateGeneration);
            var status = await TryExecuteAsync(client, "query-status", cancellationToken).ConfigureAwait(false);
            if (status is not { } statusInfo)
            {
                return;
            }

            if (generation == Volatile.Read(ref runStateGeneration) || tries == StatusRetries)
            {
                RunStateMapping.ApplyStatus(Series, statusInfo);
                return;
            }
        }
    }

    private async Task<JsonElement?> TryExecuteAsync(QmpClient client, string command, CancellationToken cancellationToken)
    {
        try
        {
            return await client.ExecuteAsync(command, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (QmpCommandException e)
        {
            Log.QueryFailed(logger, Name, e.Message);
            return null;
        }
    }

    private void OnConnected(QmpGreeting greeting)
    {
        SetInfo(greeting.Version, greeting.Package);
        Series.Add(MetricCatalog.Connects, SeriesKey.None);
        Series.Set(MetricCatalog.Up, SeriesKey.None, 1);
        Log.Connected(logger, Name, greeting.Version, greeting.Package, endpoint.ToString());
    }

    private void OnDisconnected(string reason)
    {
        Series.Set(MetricCatalog.Up, SeriesKey.None, 0);
        Series.Add(MetricCatalog.Disconnects, SeriesKey.None);
        Log.Disconnected(logger, Name, endpoint.ToString(), reason);
    }

    private void SetInfo(string version, string package)
    {
        if (Series.Get(MetricCatalog.QemuInfo, new SeriesKey(version, package)) is null)
        {
            Series.Clear(MetricCatalog.QemuInfo);
            Series.Set(MetricCatalog.QemuInfo, new SeriesKey(version, package), 1);
        }
    }

    /// <summary>Equal jitter: half the exponential delay fixed, half random, so many VMs that failed together spread out.</summary>
    private TimeSpan Backoff(int attempt)
    {
        var exponential = minDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 30));
        var capped = Math.Min(exponential, maxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds((capped / 2) + (Random.Shared.NextDouble() * capped / 2));
    }

    /// <summary>Logs at most one protocol error per window; a flood of bad lines is counted, not logged line by line.</summary>
    private void LogProtocolError(string reason, string detail)
    {
        var now = Time.GetTimestamp();
        if (Time.GetElapsedTime(Interlocked.Read(ref errorWindowStart), now) >= ErrorLogWindow)
        {
            var suppressed = Interlocked.Exchange(ref errorsInWindow, 0);
            Interlocked.Exchange(ref errorWindowStart, now);
            if (suppressed > 0)
            {
                Log.ProtocolErrorsSuppressed(logger, Name, suppressed, (int)ErrorLogWindow.TotalSeconds);
            }

            Log.ProtocolError(logger, Name, reason, detail);
        }
        else
        {
            Interlocked.Increment(ref errorsInWindow);
        }
    }
}
