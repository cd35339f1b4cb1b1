using QmpExporter.Qmp;

namespace QmpExporter.Sources;

/// <summary>
/// The event handler of a connection accepted before its session is known: keeps what arrives (events, protocol
/// errors) until <see cref="Attach"/>, replays it there in order, then forwards. Nothing QEMU sent between the
/// negotiation and the hand-over is lost.
/// </summary>
internal sealed class HandOverHandler : IQmpEventHandler
{
    private readonly Lock gate = new();
    private readonly List<Buffered> buffered = [];
    private IQmpEventHandler? target;

    public void Attach(IQmpEventHandler handler)
    {
        lock (gate)
        {
            foreach (var item in buffered)
            {
                if (item.Name is { } name)
                {
                    handler.OnEvent(new QmpEvent(name, item.Seconds, item.Microseconds, item.Data));
                }
                else
                {
                    handler.OnProtocolError(item.Reason!, item.Detail!);
                }
            }

            buffered.Clear();
            target = handler;
        }
    }

    public void OnEvent(in QmpEvent evt)
    {
        lock (gate)
        {
            if (target is { } handler)
            {
                handler.OnEvent(evt);
            }
            else
            {
                buffered.Add(new Buffered(evt.Name, evt.Seconds, evt.Microseconds, evt.Data.ToArray(), null, null));
            }
        }
    }

    public void OnProtocolError(string reason, string detail)
    {
        lock (gate)
        {
            if (target is { } handler)
            {
                handler.OnProtocolError(reason, detail);
            }
            else
            {
                buffered.Add(new Buffered(null, 0, 0, [], reason, detail));
            }
        }
    }

    private sealed record Buffered(string? Name, long Seconds, long Microseconds, byte[] Data, string? Reason, string? Detail);
}
