using System.Text;
using QmpExporter.Qmp;

namespace QmpExporter.Tests.Support;

/// <summary>An event as a test keeps it: the bytes of <see cref="QmpEvent"/> copied out of the read buffer.</summary>
internal sealed record RecordedEvent(string Name, long Seconds, long Microseconds, string Data);

/// <summary>Collects what a <see cref="QmpClient"/> hands on, for assertions; thread-safe.</summary>
internal sealed class RecordingHandler : IQmpEventHandler
{
    private readonly List<RecordedEvent> events = [];
    private readonly List<(string Reason, string Detail)> errors = [];

    public IReadOnlyList<RecordedEvent> Events
    {
        get
        {
            lock (events)
            {
                return [.. events];
            }
        }
    }

    public IReadOnlyList<(string Reason, string Detail)> Errors
    {
        get
        {
            lock (errors)
            {
                return [.. errors];
            }
        }
    }

    public void OnEvent(in QmpEvent evt)
    {
        var recorded = new RecordedEvent(evt.Name, evt.Seconds, evt.Microseconds, Encoding.UTF8.GetString(evt.Data));
        lock (events)
        {
            events.Add(recorded);
        }
    }

    public void OnProtocolError(string reason, string detail)
    {
        lock (errors)
        {
            errors.Add((reason, detail));
        }
    }

    public int Count(string name) => Events.Count(e => e.Name == name);

    public Task WaitForAsync(string name, int count = 1, TimeSpan? timeout = null) =>
        Eventually.True(() => Count(name) >= count, $"{count} x {name} event", timeout);
}
