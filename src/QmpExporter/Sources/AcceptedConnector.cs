using System.Threading.Channels;
using QmpExporter.Qmp;

namespace QmpExporter.Sources;

/// <summary>
/// The connector of a VM that dials in: its session waits here for the next connection the listening socket hands
/// over (QEMU's first, or the one after QEMU or the exporter restarted).
/// </summary>
internal sealed class AcceptedConnector(QmpEndpoint listening) : IQmpConnector
{
    private readonly Channel<(QmpConnection Connection, HandOverHandler Handler)> next = Channel.CreateUnbounded<(QmpConnection, HandOverHandler)>();

    public QmpEndpoint Endpoint { get; } = listening;

    public bool BacksOff => false;

    /// <summary>The pid of the QEMU last handed over.</summary>
    public int Pid { get; private set; }

    /// <summary>True from a hand-over until its connection ends.</summary>
    public bool Live { get; set; }

    public void HandOver(QmpConnection connection, HandOverHandler handler)
    {
        Pid = connection.Identity.Pid;
        Live = true;
        next.Writer.TryWrite((connection, handler));
    }

    public async Task<QmpConnection> ConnectAsync(IQmpEventHandler handler, QmpClientOptions options, CancellationToken cancellationToken)
    {
        var (connection, buffer) = await next.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        buffer.Attach(handler);
        return connection;
    }

    /// <summary>Closes connections handed over that no session took.</summary>
    public async ValueTask CloseUntakenAsync()
    {
        next.Writer.TryComplete();
        while (next.Reader.TryRead(out var item))
        {
            await item.Connection.Client.DisposeAsync().ConfigureAwait(false);
        }
    }
}
