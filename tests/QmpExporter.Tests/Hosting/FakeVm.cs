using System.Threading.Channels;
using QmpExporter.Mappings;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Hosting;

/// <summary>
/// A fake QEMU (by default an idle running VM) with a VM name unique to the test, handing each connection the exporter
/// makes to the test so that it can inject lines. Unique names matter: every exporter in this process serves the
/// series of every other one (they share the meter name), so tests running in parallel must not share VM names.
/// </summary>
internal sealed class FakeVm : IAsyncDisposable
{
    private readonly Channel<FakeQmpConnection> accepted = Channel.CreateUnbounded<FakeQmpConnection>();

    public FakeVm(string name, Func<FakeQmpConnection, Task>? script = null)
    {
        Name = $"{name}-{Guid.NewGuid().ToString("N")[..8]}";
        script ??= c => c.ActLikeQemuAsync();
        Server = FakeQmpServer.Start(async connection =>
        {
            accepted.Writer.TryWrite(connection);
            await script(connection);
        });
    }

    /// <summary>The <c>vm</c> label.</summary>
    public string Name { get; }

    public FakeQmpServer Server { get; }

    public string Socket => Server.SocketPath;

    /// <summary>The <c>--vm</c> shorthand value for this VM.</summary>
    public string Flag => $"{Name}={Socket}";

    /// <summary>The next connection the exporter made.</summary>
    public Task<FakeQmpConnection> NextConnectionAsync() => accepted.Reader.ReadAsync().AsTask().WaitAsync(Eventually.DefaultTimeout);

    /// <summary>
    /// Waits until the exporter has run every state query on this connection: after that, with a long poll interval,
    /// no command is outstanding, so whatever the test sends next cannot land in the middle of a query.
    /// </summary>
    public static Task WaitForInitialQueriesAsync(FakeQmpConnection connection) =>
        Eventually.True(() => EventMappings.Queries.All(q => connection.Answered.Contains(q.Command)), "every state query answered");

    public ValueTask DisposeAsync() => Server.DisposeAsync();
}
