using System.Net.Sockets;
using System.Text;
using System.Text.Json;

using QmpExporter.Wire;

namespace QmpExporter.Tests.Support;

/// <summary>
/// A scriptable stand-in for a QEMU monitor on a real unix socket in a fresh directory under /tmp. Like QEMU it serves
/// one client at a time: a second connect waits in the listen backlog, ungreeted, until the first one is over.
/// Either take connections one by one with <see cref="AcceptAsync"/>, or have <see cref="Serve"/> run a script on each.
/// </summary>
internal sealed class FakeQmpServer : IAsyncDisposable
{
    /// <summary>QEMU 7.2's greeting, byte for byte (see /work/shared/qemu/README.md section 1).</summary>
    public const string Greeting = Qemu72Wire.Greeting;

    private readonly string directory;
    private readonly Socket listener;
    private readonly CancellationTokenSource stopping = new();
    private readonly List<FakeQmpConnection> connections = [];
    private Task serving = Task.CompletedTask;
    private int accepted;

    private FakeQmpServer(string directory, Socket listener)
    {
        this.directory = directory;
        this.listener = listener;
        SocketPath = Path.Combine(directory, "vm.qmp");
    }

    /// <summary>Short enough for sun_path (&lt; 108 bytes) wherever TMPDIR points.</summary>
    public string SocketPath { get; }

    /// <summary>Connections accepted so far.</summary>
    public int Accepted => Volatile.Read(ref accepted);

    public static FakeQmpServer Start()
    {
        var directory = Path.Combine("/tmp", "qmpfake-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(Path.Combine(directory, "vm.qmp")));
            listener.Listen(2);
        }
        catch
        {
            listener.Dispose();
            Directory.Delete(directory, recursive: true);
            throw;
        }

        return new FakeQmpServer(directory, listener);
    }

    /// <summary>A server that runs <paramref name="script"/> on every connection, one connection after the other.</summary>
    public static FakeQmpServer Start(Func<FakeQmpConnection, Task> script)
    {
        var server = Start();
        server.Serve(script);
        return server;
    }

    /// <summary>A server that behaves like an idle, running QEMU on every connection.</summary>
    public static FakeQmpServer StartQemuLike() => Start(c => c.ActLikeQemuAsync());

    public async Task<FakeQmpConnection> AcceptAsync()
    {
        var socket = await listener.AcceptAsync(stopping.Token);
        var connection = new FakeQmpConnection(socket, Interlocked.Increment(ref accepted));
        lock (connections)
        {
            connections.Add(connection);
        }

        return connection;
    }

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        listener.Dispose();
        FakeQmpConnection[] open;
        lock (connections)
        {
            open = [.. connections];
        }

        foreach (var connection in open)
        {
            connection.Dispose();
        }

        try
        {
            await serving;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException or IOException)
        {
            // The script was cut off by the close above.
        }

        stopping.Dispose();
        Directory.Delete(directory, recursive: true);
    }

    private void Serve(Func<FakeQmpConnection, Task> script) => serving = Task.Run(async () =>
    {
        while (!stopping.IsCancellationRequested)
        {
            using var connection = await AcceptAsync();
            try
            {
                await script(connection);
            }
            catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException && !stopping.IsCancellationRequested)
            {
                // The client went away mid-script: serve the next one, as QEMU does.
            }
        }
    });
}

/// <summary>A command the client sent: its name, the raw JSON of its id (echoed as is in the reply) and the whole line.</summary>
internal sealed record QmpRequest(string Execute, string IdJson, string Line);

/// <summary>One accepted client connection, driven step by step by a test or a script.</summary>
internal sealed class FakeQmpConnection(Socket socket, int number) : IDisposable
{
    private readonly SemaphoreSlim writeLock = new(1, 1);
    private readonly List<string> answered = [];
    private long bytesSent;

    /// <summary>1 for the first connection the server accepted, 2 for the next, ...</summary>
    public int Number { get; } = number;

    public long BytesSent => Interlocked.Read(ref bytesSent);

    /// <summary>The commands answered so far, in order.</summary>
    public IReadOnlyList<string> Answered
    {
        get
        {
            lock (answered)
            {
                return [.. answered];
            }
        }
    }

    public Task GreetAsync() => SendLineAsync(FakeQmpServer.Greeting);

    /// <summary>Sends one JSON object the way QEMU does: on one line, ended by CRLF.</summary>
    public Task SendLineAsync(string json) => SendRawAsync(Encoding.UTF8.GetBytes(json + Qemu72Wire.LineEnd));

    public Task SendEventAsync(string name, string? dataJson = null, long seconds = 1795624766, long microseconds = 155936) =>
        SendLineAsync(Event(name, dataJson, seconds, microseconds));

    public async Task SendRawAsync(ReadOnlyMemory<byte> bytes)
    {
        await writeLock.WaitAsync();
        try
        {
            while (!bytes.IsEmpty)
            {
                var sent = await socket.SendAsync(bytes);
                Interlocked.Add(ref bytesSent, sent);
                bytes = bytes[sent..];
            }
        }
        finally
        {
            writeLock.Release();
        }
    }

    /// <summary>
    /// Reads the next command line. It reads byte by byte so that nothing past this line leaves the kernel's buffer:
    /// what the client sends next stays unread, which <see cref="ResetAsync"/> relies on.
    /// </summary>
    public async Task<QmpRequest> ReadCommandAsync()
    {
        var line = new List<byte>();
        var one = new byte[1];
        while (true)
        {
            if (await socket.ReceiveAsync(one) == 0)
            {
                throw new IOException($"the client closed the connection; partial line: {Encoding.UTF8.GetString([.. line])}");
            }

            if (one[0] == (byte)'\n')
            {
                break;
            }

            line.Add(one[0]);
        }

        var text = Encoding.UTF8.GetString([.. line]).TrimEnd('\r');
        using var json = JsonDocument.Parse(text);
        var root = json.RootElement;
        var id = root.TryGetProperty("id", out var value) ? value.GetRawText() : "null";
        return new QmpRequest(root.GetProperty("execute").GetString()!, id, text);
    }

    /// <summary>Reads the next command, checks its name and answers it with <paramref name="returnJson"/>.</summary>
    public async Task<QmpRequest> ExpectAsync(string command, string returnJson = "{}")
    {
        var request = await ReadCommandAsync();
        if (request.Execute != command)
        {
            throw new InvalidOperationException($"expected '{command}', got: {request.Line}");
        }

        await ReplyAsync(request, returnJson);
        return request;
    }

    public async Task ReplyAsync(QmpRequest request, string returnJson = "{}")
    {
        await SendLineAsync(Qemu72Wire.Return(returnJson, request.IdJson));
        Answer(request);
    }

    /// <summary>An error reply; QEMU puts the id first.</summary>
    public async Task ReplyErrorAsync(QmpRequest request, string errorClass, string description)
    {
        await SendLineAsync($$$"""{"id": {{{request.IdJson}}}, "error": {"class": {{{JsonSerializer.Serialize(errorClass)}}}, "desc": {{{JsonSerializer.Serialize(description)}}}}}""");
        Answer(request);
    }

    /// <summary>Greets and answers <c>qmp_capabilities</c>.</summary>
    public async Task NegotiateAsync()
    {
        await GreetAsync();
        await ExpectAsync("qmp_capabilities");
    }

    /// <summary>Greets, then answers commands like an idle running QEMU 7.2 until the client leaves.</summary>
    public async Task ActLikeQemuAsync()
    {
        await GreetAsync();
        await AnswerLikeQemuAsync();
    }

    /// <summary>Answers commands like an idle running QEMU 7.2 until the client leaves; events can be sent meanwhile.</summary>
    public async Task AnswerLikeQemuAsync()
    {
        while (true)
        {
            QmpRequest request;
            try
            {
                request = await ReadCommandAsync();
            }
            catch (IOException)
            {
                return;
            }

            switch (request.Execute)
            {
                case "qmp_capabilities":
                    await ReplyAsync(request);
                    break;
                case "query-version":
                    await ReplyAsync(request, Qemu72Wire.Version);
                    break;
                case "query-status":
                    await ReplyAsync(request, Qemu72Wire.RunningStatus);
                    break;
                default:
                    await ReplyErrorAsync(request, "CommandNotFound", Qemu72Wire.CommandNotFound(request.Execute));
                    break;
            }
        }
    }

    /// <summary>Never greets: waits, like QEMU with its monitor taken, until the client gives up and closes.</summary>
    public async Task WaitForCloseAsync()
    {
        var buffer = new byte[4096];
        while (await socket.ReceiveAsync(buffer) > 0)
        {
        }
    }

    /// <summary>Waits until the client has sent bytes that this side has not read.</summary>
    public Task WaitForUnreadBytesAsync() => Eventually.True(() => socket.Available > 0, "unread bytes from the client");

    /// <summary>
    /// Closes abruptly. On a unix socket the kernel ignores SO_LINGER; what makes the client's next read fail with
    /// ECONNRESET is closing with unread input, exactly how an exiting QEMU produces it. Returns the unread byte count.
    /// </summary>
    public int Reset()
    {
        var unread = socket.Available;
        socket.LingerState = new LingerOption(true, 0);
        socket.Close();
        return unread;
    }

    public void Dispose()
    {
        socket.Dispose();
    }

    private void Answer(QmpRequest request)
    {
        lock (answered)
        {
            answered.Add(request.Execute);
        }
    }

    public static string Event(string name, string? dataJson = null, long seconds = 1795624766, long microseconds = 155936) =>
        Qemu72Wire.Event(name, dataJson, seconds, microseconds);
}
