using System.Text.Json;
using QmpExporter.Qmp;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Qmp;

/// <summary>What the client does with each line: events to the handler in order, replies to the command with their id.</summary>
public sealed class QmpClientRoutingTests
{
    private static readonly TimeSpan StepTimeout = ClientHarness.StepTimeout;

    [Fact]
    public async Task An_event_before_the_capabilities_reply_is_delivered_in_order_and_not_taken_for_the_reply()
    {
        await using var server = FakeQmpServer.Start();
        var handler = new RecordingHandler();
        var connecting = QmpClient.ConnectAsync(ClientHarness.EndpointOf(server), handler, ClientHarness.Options(), CancellationToken.None);
        using var qemu = await server.AcceptAsync().WaitAsync(StepTimeout);
        await qemu.GreetAsync();
        var capabilities = await qemu.ReadCommandAsync().WaitAsync(StepTimeout);
        Assert.Equal("qmp_capabilities", capabilities.Execute);

        await qemu.SendEventAsync("RESUME", microseconds: 1);
        await qemu.SendEventAsync("STOP", microseconds: 2);
        await handler.WaitForAsync("STOP");
        Assert.False(connecting.IsCompleted, "an event was taken for the qmp_capabilities reply");

        await qemu.ReplyAsync(capabilities);
        await using var client = await connecting.WaitAsync(StepTimeout);

        Assert.Equal(["RESUME", "STOP"], handler.Events.Select(e => e.Name));
        Assert.Equal("7.2.22", client.Greeting.Version);
        Assert.Equal("Debian 1:7.2+dfsg-7+deb12u18+b3", client.Greeting.Package);
        Assert.Equal(["oob"], client.Greeting.Capabilities);
        Assert.Empty(handler.Errors);
    }

    [Fact]
    public async Task An_event_between_a_command_and_its_reply_is_delivered_and_the_command_gets_its_own_reply()
    {
        await using var session = await ClientHarness.ConnectAsync();
        var status = session.Client.ExecuteAsync("query-status");
        var request = await session.Qemu.ReadCommandAsync().WaitAsync(StepTimeout);

        await session.Qemu.SendEventAsync("STOP");
        await session.Handler.WaitForAsync("STOP");
        Assert.False(status.IsCompleted, "the STOP event was taken for the reply of query-status");

        await session.Qemu.ReplyAsync(request, """{"status": "paused", "singlestep": false, "running": false}""");
        var reply = await status.WaitAsync(StepTimeout);

        Assert.Equal("paused", reply.GetProperty("status").GetString());
        Assert.Equal(["STOP"], session.Handler.Events.Select(e => e.Name));
        Assert.Empty(session.Handler.Errors);
    }

    [Fact]
    public async Task Concurrent_commands_answered_in_reverse_order_each_get_their_own_reply()
    {
        await using var session = await ClientHarness.ConnectAsync();
        var name = session.Client.ExecuteAsync("query-name");
        var uuid = session.Client.ExecuteAsync("query-uuid");
        var first = await session.Qemu.ReadCommandAsync().WaitAsync(StepTimeout);
        var second = await session.Qemu.ReadCommandAsync().WaitAsync(StepTimeout);
        Assert.NotEqual(first.IdJson, second.IdJson);

        // Answer the later command first.
        foreach (var request in new[] { second, first })
        {
            await session.Qemu.ReplyAsync(request, request.Execute == "query-name"
                ? """{"name": "web1"}"""
                : """{"UUID": "e3c4a4b6-0e4d-4b8e-9f0e-2b1c1c1c1c1c"}""");
        }

        Assert.Equal("web1", (await name.WaitAsync(StepTimeout)).GetProperty("name").GetString());
        Assert.Equal("e3c4a4b6-0e4d-4b8e-9f0e-2b1c1c1c1c1c", (await uuid.WaitAsync(StepTimeout)).GetProperty("UUID").GetString());
        Assert.Empty(session.Handler.Errors);
    }

    [Fact]
    public async Task Events_are_handed_on_in_order_with_QEMUs_timestamp_and_the_raw_data()
    {
        await using var session = await ClientHarness.ConnectAsync();
        await session.Qemu.SendLineAsync("""{"timestamp": {"seconds": 1795624766, "microseconds": 156563}, "event": "RESET", "data": {"guest": false, "reason": "host-qmp-system-reset"}}""");
        await session.Qemu.SendLineAsync("""{"timestamp": {"seconds": 1795624766, "microseconds": 156801}, "event": "POWERDOWN"}""");

        // Member order is not part of the protocol.
        await session.Qemu.SendLineAsync("""{"data": {"status": "setup"}, "event": "MIGRATION", "timestamp": {"microseconds": 56980, "seconds": 1795624783}}""");
        await session.Handler.WaitForAsync("MIGRATION");

        Assert.Equal(
            [
                new RecordedEvent("RESET", 1795624766, 156563, """{"guest": false, "reason": "host-qmp-system-reset"}"""),
                new RecordedEvent("POWERDOWN", 1795624766, 156801, ""),
                new RecordedEvent("MIGRATION", 1795624783, 56980, """{"status": "setup"}"""),
            ],
            session.Handler.Events);
    }

    [Fact]
    public async Task An_error_reply_raises_QmpCommandException_with_the_error_class_and_description()
    {
        await using var session = await ClientHarness.ConnectAsync();
        var call = session.Client.ExecuteAsync("nonexistent");
        var request = await session.Qemu.ReadCommandAsync().WaitAsync(StepTimeout);
        await session.Qemu.ReplyErrorAsync(request, "CommandNotFound", "The command nonexistent has not been found");

        var error = await Assert.ThrowsAsync<QmpCommandException>(() => call.WaitAsync(StepTimeout));

        Assert.Equal("CommandNotFound", error.ErrorClass);
        Assert.Equal("The command nonexistent has not been found", error.Description);
        Assert.Contains("nonexistent", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_command_sends_its_arguments_and_returns_the_return_value()
    {
        await using var session = await ClientHarness.ConnectAsync();
        var call = session.Client.ExecuteAsync("query-block-jobs", """{"verbose": true}""");
        var request = await session.Qemu.ReadCommandAsync().WaitAsync(StepTimeout);
        await session.Qemu.ReplyAsync(request, """[{"device": "job-stream", "offset": 1048576}]""");

        var reply = await call.WaitAsync(StepTimeout);

        using var sent = JsonDocument.Parse(request.Line);
        Assert.True(sent.RootElement.GetProperty("arguments").GetProperty("verbose").GetBoolean());
        Assert.Equal(1048576, reply[0].GetProperty("offset").GetInt64());
    }
}
