using System.Diagnostics;
using System.Net.Sockets;
using QmpExporter.Qmp;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Qmp;

/// <summary>How a connection starts and ends: missing sockets, silent monitors, QEMU exiting with EOF or ECONNRESET.</summary>
public sealed class QmpClientConnectionTests
{
    private static readonly TimeSpan StepTimeout = ClientHarness.StepTimeout;

    [Fact]
    public async Task ECONNRESET_from_the_peer_ends_Completion_successfully_and_fails_pending_commands()
    {
        await using var session = await ClientHarness.ConnectAsync();
        await session.Qemu.SendEventAsync("SHUTDOWN", """{"guest": false, "reason": "host-qmp-quit"}""");
        var quit = session.Client.ExecuteAsync("quit");

        // QEMU exits with the command still unread: the kernel answers the client's next read with ECONNRESET.
        await session.Qemu.WaitForUnreadBytesAsync();
        Assert.True(session.Qemu.Reset() > 0, "the reset must leave unread input behind, or it is a plain EOF");

        await session.Client.Completion.WaitAsync(StepTimeout);
        await Assert.ThrowsAsync<QmpDisconnectedException>(() => quit.WaitAsync(StepTimeout));
        Assert.Equal(["SHUTDOWN"], session.Handler.Events.Select(e => e.Name));
        Assert.Empty(session.Handler.Errors);
    }

    [Fact]
    public async Task EOF_ends_Completion_successfully_and_fails_pending_commands()
    {
        await using var session = await ClientHarness.ConnectAsync();
        var status = session.Client.ExecuteAsync("query-status");
        await session.Qemu.ReadCommandAsync().WaitAsync(StepTimeout);

        session.Qemu.Dispose();

        await session.Client.Completion.WaitAsync(StepTimeout);
        var error = await Assert.ThrowsAsync<QmpDisconnectedException>(() => status.WaitAsync(StepTimeout));
        Assert.Null(error.InnerException);
        Assert.Empty(session.Handler.Errors);
    }

    [Fact]
    public async Task A_stream_that_ends_inside_a_line_is_reported_as_truncated()
    {
        await using var session = await ClientHarness.ConnectAsync();
        await session.Qemu.SendRawAsync("{\"timestamp\": {\"seconds\": 1"u8.ToArray());

        session.Qemu.Dispose();

        await session.Client.Completion.WaitAsync(StepTimeout);
        var (reason, _) = Assert.Single(session.Handler.Errors);
        Assert.Equal(QmpProtocolErrorReasons.TruncatedLine, reason);
    }

    [Fact]
    public async Task A_socket_that_never_greets_makes_ConnectAsync_throw_QmpGreetingTimeoutException_in_about_the_timeout()
    {
        var timeout = TimeSpan.FromMilliseconds(300);
        await using var server = FakeQmpServer.Start(c => c.WaitForCloseAsync());
        var options = new QmpClientOptions { GreetingTimeout = timeout };
        var clock = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<QmpGreetingTimeoutException>(() =>
            QmpClient.ConnectAsync(ClientHarness.EndpointOf(server), new RecordingHandler(), options, CancellationToken.None).WaitAsync(StepTimeout));

        clock.Stop();
        Assert.Equal(QmpProtocolErrorReasons.GreetingTimeout, error.Reason);
        Assert.InRange(clock.Elapsed, timeout * 0.9, timeout + TimeSpan.FromSeconds(2));
        Assert.Contains("another client", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_socket_file_gives_QmpConnectException_saying_the_file_does_not_exist()
    {
        var path = Path.Combine("/tmp", "qmpfake-" + Guid.NewGuid().ToString("N")[..12], "vm.qmp");
        var options = new QmpClientOptions { ConnectTimeout = TimeSpan.FromSeconds(5) };

        var error = await Assert.ThrowsAsync<QmpConnectException>(() =>
            QmpClient.ConnectAsync(new QmpEndpoint(path, null, 0), new RecordingHandler(), options, CancellationToken.None).WaitAsync(StepTimeout));

        Assert.Contains("does not exist", error.Message, StringComparison.Ordinal);
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.NotNull(error.InnerException);
    }

    [Fact]
    public async Task A_stale_socket_file_with_no_listener_gives_QmpConnectException_saying_nothing_listens()
    {
        var directory = Directory.CreateDirectory(Path.Combine("/tmp", "qmpstale-" + Guid.NewGuid().ToString("N")[..12]));
        try
        {
            // Like QEMU killed with SIGKILL: the socket file stays behind and nobody listens on it.
            var stale = Path.Combine(directory.FullName, "vm.qmp");
            // .NET unlinks the socket file it bound when the socket closes: move it away first so that it stays.
            var bound = Path.Combine(directory.FullName, "bound.qmp");
            using (var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
            {
                listener.Bind(new UnixDomainSocketEndPoint(bound));
                File.Move(bound, stale);
            }

            var error = await Assert.ThrowsAsync<QmpConnectException>(() =>
                QmpClient.ConnectAsync(new QmpEndpoint(stale, null, 0), new RecordingHandler(), new QmpClientOptions(), CancellationToken.None).WaitAsync(StepTimeout));

            Assert.True(File.Exists(stale), "the stale socket file must still be there");
            Assert.Contains("nothing listens", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_peer_that_closes_before_greeting_makes_ConnectAsync_throw_QmpDisconnectedException()
    {
        await using var server = FakeQmpServer.Start(c =>
        {
            c.Dispose();
            return Task.CompletedTask;
        });

        await Assert.ThrowsAsync<QmpDisconnectedException>(() =>
            QmpClient.ConnectAsync(ClientHarness.EndpointOf(server), new RecordingHandler(), new QmpClientOptions(), CancellationToken.None).WaitAsync(StepTimeout));
    }
}
