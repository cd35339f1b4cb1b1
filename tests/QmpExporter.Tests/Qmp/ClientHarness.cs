using QmpExporter.Qmp;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Qmp;

/// <summary>A <see cref="QmpClient"/> connected and negotiated with a <see cref="FakeQmpServer"/> the test drives by hand.</summary>
internal sealed class ClientHarness : IAsyncDisposable
{
    /// <summary>How long any single step may take before the test fails instead of hanging.</summary>
    public static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(10);

    private ClientHarness(FakeQmpServer server, FakeQmpConnection qemu, QmpClient client, RecordingHandler handler)
    {
        Server = server;
        Qemu = qemu;
        Client = client;
        Handler = handler;
    }

    public FakeQmpServer Server { get; }

    /// <summary>The server's side of the connection.</summary>
    public FakeQmpConnection Qemu { get; }

    public QmpClient Client { get; }

    public RecordingHandler Handler { get; }

    public static QmpClientOptions Options(int maxLineBytes = 64 * 1024) => new()
    {
        MaxLineBytes = maxLineBytes,
        ConnectTimeout = TimeSpan.FromSeconds(5),
        GreetingTimeout = TimeSpan.FromSeconds(5),
        CommandTimeout = TimeSpan.FromSeconds(10),
    };

    public static QmpEndpoint EndpointOf(FakeQmpServer server) => new(server.SocketPath, null, 0);

    public static async Task<ClientHarness> ConnectAsync(QmpClientOptions? options = null)
    {
        var server = FakeQmpServer.Start();
        try
        {
            var handler = new RecordingHandler();
            var connecting = QmpClient.ConnectAsync(EndpointOf(server), handler, options ?? Options(), CancellationToken.None);
            var qemu = await server.AcceptAsync().WaitAsync(StepTimeout);
            await qemu.NegotiateAsync().WaitAsync(StepTimeout);
            var client = await connecting.WaitAsync(StepTimeout);
            return new ClientHarness(server, qemu, client, handler);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        await Server.DisposeAsync();
    }
}
