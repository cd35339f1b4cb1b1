using QmpExporter.Qmp;

namespace QmpExporter.Sources;

/// <summary>A negotiated QMP connection and who is at its other end.</summary>
internal sealed record QmpConnection(QmpClient Client, VmIdentity Identity);

/// <summary>How a session gets its next negotiated connection: by dialling a socket, or by waiting for a QEMU that dials in.</summary>
internal interface IQmpConnector
{
    /// <summary>The socket, for logs and the landing page.</summary>
    QmpEndpoint Endpoint { get; }

    /// <summary>True when a failed or ended connection is retried after a backoff delay; false when the next one is simply awaited.</summary>
    bool BacksOff { get; }

    /// <exception cref="QmpException">The connection could not be made (only when <see cref="BacksOff"/>).</exception>
    Task<QmpConnection> ConnectAsync(IQmpEventHandler handler, QmpClientOptions options, CancellationToken cancellationToken);
}

/// <summary>Connects out to a QMP server socket: a configured VM or a discovered socket file.</summary>
internal sealed class DialConnector(QmpEndpoint endpoint) : IQmpConnector
{
    public QmpEndpoint Endpoint { get; } = endpoint;

    public bool BacksOff => true;

    /// <remarks>Only the command line is read for the identity: the name is configured, and no extra command is sent.</remarks>
    public async Task<QmpConnection> ConnectAsync(IQmpEventHandler handler, QmpClientOptions options, CancellationToken cancellationToken)
    {
        var client = await QmpClient.ConnectAsync(Endpoint, handler, options, cancellationToken).ConfigureAwait(false);
        return new QmpConnection(client, VmIdentity.FromProcess(client.PeerPid));
    }
}
