using System.Net.Sockets;
using System.Text;
using QmpExporter.Qmp;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Qmp;

/// <summary>Lines the client must not trust: too long (fatal for the connection) or malformed (reported, then ignored).</summary>
public sealed class QmpClientLineTests
{
    private const int MaxLineBytes = 4096;
    private static readonly TimeSpan StepTimeout = ClientHarness.StepTimeout;

    [Fact]
    public async Task A_line_longer_than_MaxLineBytes_faults_Completion_with_QmpLineTooLongException()
    {
        await using var session = await ClientHarness.ConnectAsync(ClientHarness.Options(MaxLineBytes));
        var pending = session.Client.ExecuteAsync("query-status");
        await session.Qemu.ReadCommandAsync().WaitAsync(StepTimeout);

        var data = $$"""{"reason": "{{new string('x', MaxLineBytes)}}"}""";
        await session.Qemu.SendEventAsync("BLOCK_IO_ERROR", data);

        var error = await Assert.ThrowsAsync<QmpLineTooLongException>(() => session.Client.Completion.WaitAsync(StepTimeout));
        Assert.Equal(QmpProtocolErrorReasons.OversizeLine, error.Reason);
        Assert.Contains(MaxLineBytes.ToString(System.Globalization.CultureInfo.InvariantCulture), error.Message, StringComparison.Ordinal);
        // The waiting command learns the real cause, so its caller can count it.
        await Assert.ThrowsAsync<QmpLineTooLongException>(() => pending.WaitAsync(StepTimeout));
        Assert.Empty(session.Handler.Events);
    }

    [Fact]
    public async Task A_line_without_a_newline_faults_Completion_once_past_MaxLineBytes_without_buffering_the_rest()
    {
        const long lineBytes = 256L * 1024 * 1024;
        await using var session = await ClientHarness.ConnectAsync(ClientHarness.Options(MaxLineBytes));
        var chunk = Encoding.ASCII.GetBytes(new string('x', 64 * 1024));
        var endless = Task.Run(async () =>
        {
            for (long sent = 0; sent < lineBytes; sent += chunk.Length)
            {
                await session.Qemu.SendRawAsync(chunk);
            }
        });

        var error = await Assert.ThrowsAsync<QmpLineTooLongException>(() => session.Client.Completion.WaitAsync(StepTimeout));

        Assert.Equal(QmpProtocolErrorReasons.OversizeLine, error.Reason);
        Assert.False(endless.IsCompleted, "the client read the whole 256 MiB line before giving up");
        Assert.True(session.Qemu.BytesSent < 16L * 1024 * 1024, $"the client took {session.Qemu.BytesSent} bytes of a line limited to {MaxLineBytes}");

        await session.Client.DisposeAsync();
        var sendError = await Record.ExceptionAsync(() => endless.WaitAsync(StepTimeout));
        Assert.True(sendError is SocketException or ObjectDisposedException, $"the writer should fail once the client closed; got {sendError}");
    }

    [Fact]
    public async Task A_malformed_line_is_reported_and_the_connection_keeps_working()
    {
        await using var session = await ClientHarness.ConnectAsync();

        await session.Qemu.SendLineAsync("garbage");
        await Eventually.True(() => session.Handler.Errors.Count == 1, "the malformed line to be reported");
        await session.Qemu.SendEventAsync("RESUME");
        await session.Handler.WaitForAsync("RESUME");
        var status = session.Client.ExecuteAsync("query-status");
        await session.Qemu.ExpectAsync("query-status", """{"status": "running", "singlestep": false, "running": true}""").WaitAsync(StepTimeout);

        Assert.Equal("running", (await status.WaitAsync(StepTimeout)).GetProperty("status").GetString());
        var (reason, detail) = Assert.Single(session.Handler.Errors);
        Assert.Equal(QmpProtocolErrorReasons.MalformedLine, reason);
        Assert.Contains("garbage", detail, StringComparison.Ordinal);
        Assert.False(session.Client.Completion.IsCompleted);
    }

    [Theory]
    [InlineData("[1, 2, 3]")]
    [InlineData("\"a string\"")]
    [InlineData("{\"event\": 42}")]
    [InlineData("{\"event\": \"STOP\"} trailing")]
    [InlineData("{\"neither\": \"event nor reply\"}")]
    public async Task Other_lines_that_are_not_QMP_messages_are_reported_as_malformed(string line)
    {
        await using var session = await ClientHarness.ConnectAsync();

        await session.Qemu.SendLineAsync(line);
        await session.Qemu.SendEventAsync("RESUME");
        await session.Handler.WaitForAsync("RESUME");

        var (reason, _) = Assert.Single(session.Handler.Errors);
        Assert.Equal(QmpProtocolErrorReasons.MalformedLine, reason);
        Assert.Equal(["RESUME"], session.Handler.Events.Select(e => e.Name));
    }
}
