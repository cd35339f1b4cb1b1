using System.Net.Sockets;

namespace QmpExporter.Tests.Operations;

/// <summary>
/// A unix socket that accepts and never greets: what the exporter sees when another client holds a QEMU monitor
/// (QEMU serves one client per socket). The exporter counts greeting_timeout and retries.
/// </summary>
internal sealed class SilentMonitor : IAsyncDisposable
{
    private readonly Socket listener;
    private readonly CancellationTokenSource stop = new();
    private readonly List<Socket> accepted = [];
    private readonly Task acceptLoop;

    public SilentMonitor(string path)
    {
        Path = path;
        listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(16);
        acceptLoop = AcceptAsync();
    }

    public string Path { get; }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        listener.Dispose();
        try
        {
            await acceptLoop;
        }
        catch (OperationCanceledException)
        {
        }

        lock (accepted)
        {
            accepted.ForEach(s => s.Dispose());
        }

        stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(stop.Token);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }

            lock (accepted)
            {
                accepted.Add(client);
            }
        }
    }
}
