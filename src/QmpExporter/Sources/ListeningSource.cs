using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using QmpExporter.Configuration;
using QmpExporter.Hosting;
using QmpExporter.Qmp;
using QmpExporter.Spans;
using QmpExporter.Telemetry;

namespace QmpExporter.Sources;

/// <summary>
/// <c>QmpExporter:Listen:Path</c>: one unix socket any number of QEMUs dial in to
/// (<c>-chardev socket,id=qmpexp,path=PATH,reconnect=5 -mon chardev=qmpexp,mode=control</c>). Each connection is
/// named from its peer's command line (<see cref="VmIdentity"/>) and served by a session like a configured VM's. A
/// QEMU that dials in again under the same name continues its VM's counters; one whose process is gone leaves
/// (<see cref="DepartedVms"/>). A second live QEMU with a name already connected is served as <c>NAME@pid-PID</c>, so
/// two VMs never share a series set.
/// </summary>
internal sealed class ListeningSource(
    IOptions<ExporterOptions> options,
    VmRegistry registry,
    VmSupervisor supervisor,
    DepartedVms departed,
    TimeProvider time,
    ILoggerFactory loggers,
    SpanSource spans) : IHostedService, IVmSource, IAsyncDisposable
{
    /// <summary>A QEMU's sockets close while it exits; this long may pass before /proc shows it gone.</summary>
    private static readonly TimeSpan ExitSettle = TimeSpan.FromSeconds(5);

    private readonly ILogger logger = loggers.CreateLogger<ListeningSource>();
    private readonly SemaphoreSlim gate = new(1, 1);
    private readonly Dictionary<string, (VmSession Session, AcceptedConnector Connector)> vms = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource stopping = new();
    private readonly SessionFactory factory = new(options.Value, registry, time, loggers, spans);
    private Socket? listener;
    private Task accepting = Task.CompletedTask;
    private string path = "";

    public IReadOnlyCollection<VmSession> Sessions
    {
        get
        {
            lock (vms)
            {
                return [.. vms.Values.Select(v => v.Session)];
            }
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var listen = options.Value.Listen;
        if (listen.Path.Length == 0)
        {
            return Task.CompletedTask;
        }

        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("QmpExporter:Listen needs Linux (SO_PEERCRED, /proc)");
        }

        path = Path.GetFullPath(listen.Path);
        var directory = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
            UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        RemoveStaleSocket();
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(path));
            UnixSocketFile.Apply(path, listen.Mode, listen.Group);
            socket.Listen(1024);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        listener = socket;
        supervisor.AddSource(this);
        SourceLog.Listening(logger, path, listen.Mode, listen.Group.Length > 0 ? listen.Group : "unchanged");
        accepting = AcceptLoopAsync(socket, stopping.Token);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (listener is null)
        {
            return;
        }

        await stopping.CancelAsync().ConfigureAwait(false);
        listener.Dispose();
        await accepting.ConfigureAwait(false);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            List<(VmSession Session, AcceptedConnector Connector)> all;
            lock (vms)
            {
                all = [.. vms.Values];
                vms.Clear();
            }

            foreach (var (session, connector) in all)
            {
                await session.DisposeAsync().ConfigureAwait(false);
                await connector.CloseUntakenAsync().ConfigureAwait(false);
            }

            File.Delete(path);
        }
        finally
        {
            gate.Release();
        }
    }

    public ValueTask DisposeAsync()
    {
        listener?.Dispose();
        stopping.Dispose();
        gate.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>A socket file left by an exporter that did not stop cleanly; anything else at the path is not ours to remove.</summary>
    private void RemoveStaleSocket()
    {
        if (!File.Exists(path) && !Directory.Exists(path))
        {
            return;
        }

        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
            throw new InvalidOperationException($"{path} is in use: another exporter listens there");
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            File.Delete(path);
        }
    }

    private async Task AcceptLoopAsync(Socket socket, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket accepted;
            try
            {
                accepted = await socket.AcceptAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e)
            {
                // EMFILE and the like: the connection waits in the backlog (QEMU retries anyway), the loop goes on.
                SourceLog.AcceptFailed(logger, path, e.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(100), time, CancellationToken.None).ConfigureAwait(false);
                continue;
            }

            _ = AdmitAsync(accepted, cancellationToken);
        }
    }

    /// <summary>Negotiates with a QEMU that dialled in, names it and hands the connection to its VM's session.</summary>
    private async Task AdmitAsync(Socket accepted, CancellationToken cancellationToken)
    {
        var pid = PeerCredentials.Pid(accepted);
        var buffer = new HandOverHandler();
        QmpClient client;
        VmIdentity identity;
        try
        {
            client = await QmpClient.OpenAsync(accepted, buffer, factory.ClientOptions, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is QmpException or OperationCanceledException)
        {
            if (e is QmpProtocolException)
            {
                SourceLog.DialInFailed(logger, pid, e.Message);
            }

            return;
        }

        try
        {
            identity = await VmIdentity.ResolveAsync(client, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is QmpException or OperationCanceledException)
        {
            SourceLog.DialInFailed(logger, pid, e.Message);
            await client.DisposeAsync().ConfigureAwait(false);
            return;
        }

        if (identity.Label.Length == 0)
        {
            SourceLog.DialInFailed(logger, pid, "it has no name, no uuid and no pid the exporter can see");
            await client.DisposeAsync().ConfigureAwait(false);
            return;
        }

        try
        {
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await client.DisposeAsync().ConfigureAwait(false);
            return;
        }

        try
        {
            var vm = Place(identity);
            departed.Return(vm);
            AcceptedConnector connector;
            lock (vms)
            {
                if (vms.TryGetValue(vm, out var existing))
                {
                    connector = existing.Connector;
                }
                else
                {
                    connector = new AcceptedConnector(new QmpEndpoint(path, null, 0));
                    var session = factory.Create(vm, connector, OnConnectionEnded);
                    vms.Add(vm, (session, connector));
                    session.Start();
                }
            }

            connector.HandOver(new QmpConnection(client, identity), buffer);
            SourceLog.DialledIn(logger, identity.Pid, vm, identity.Uuid);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// The <c>vm</c> label for a QEMU that dialled in: its own when free or held by its own earlier, now ended,
    /// connection; <c>NAME@pid-PID</c> when a live QEMU (or a configured VM) already has the name.
    /// </summary>
    private string Place(VmIdentity identity)
    {
        var name = identity.Label;
        lock (vms)
        {
            var free = vms.TryGetValue(name, out var mine) ? !mine.Connector.Live : registry.Find(name) is null;
            if (free)
            {
                return name;
            }
        }

        var vm = $"{name}@pid-{identity.Pid}";
        SourceLog.DuplicateName(logger, identity.Pid, name, vm);
        return vm;
    }

    private void OnConnectionEnded(VmSession session)
    {
        AcceptedConnector connector;
        lock (vms)
        {
            if (!vms.TryGetValue(session.Name, out var entry))
            {
                return;
            }

            connector = entry.Connector;
            connector.Live = false;
        }

        _ = DepartIfGoneAsync(session.Name, connector, connector.Pid);
    }

    /// <summary>
    /// A QEMU whose process is gone left for good; one that still runs redials (reconnect=5) and stays, at
    /// <c>qmp_up 0</c> meanwhile, so the alert fires if it never does.
    /// </summary>
    private async Task DepartIfGoneAsync(string vm, AcceptedConnector connector, int pid)
    {
        try
        {
            if (pid > 0 && !await ProcessState.WaitGoneAsync(pid, ExitSettle, time, stopping.Token).ConfigureAwait(false))
            {
                return;
            }
        }
        catch (OperationCanceledException)
        {
            return;
        }

        await gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (connector.Live || stopping.IsCancellationRequested)
            {
                // Dialled in again meanwhile.
                return;
            }

            departed.Depart(vm, () => ReleaseAsync(vm, connector));
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Stops the session of a VM still gone at the end of its grace; false when it came back.</summary>
    private async ValueTask<bool> ReleaseAsync(string vm, AcceptedConnector connector)
    {
        VmSession session;
        await gate.WaitAsync().ConfigureAwait(false);
        try
        {
            lock (vms)
            {
                if (!vms.TryGetValue(vm, out var entry) || entry.Connector != connector || connector.Live)
                {
                    return false;
                }

                session = entry.Session;
                vms.Remove(vm);
            }

            await session.DisposeAsync().ConfigureAwait(false);
            await connector.CloseUntakenAsync().ConfigureAwait(false);
            return true;
        }
        finally
        {
            gate.Release();
        }
    }
}
