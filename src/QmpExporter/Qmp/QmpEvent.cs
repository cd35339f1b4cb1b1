namespace QmpExporter.Qmp;

/// <summary>
/// One QMP event (qmp-spec 2.5) as read off the wire: the name, QEMU's own timestamp and its <c>data</c> member
/// (raw UTF-8 JSON, empty when the event has none, with its members indexed). It lives only for the duration of
/// <see cref="IQmpEventHandler.OnEvent"/>: the bytes belong to the connection's read buffer.
/// </summary>
internal readonly ref struct QmpEvent(string name, long seconds, long microseconds, QmpEventData data)
{
    /// <summary>An event whose data members are found by scanning.</summary>
    public QmpEvent(string name, long seconds, long microseconds, ReadOnlySpan<byte> data)
        : this(name, seconds, microseconds, new QmpEventData(data))
    {
    }

    public string Name { get; } = name;

    /// <summary>Host wall-clock seconds when QEMU raised the event (also for rate-limited events delivered later).</summary>
    public long Seconds { get; } = seconds;

    public long Microseconds { get; } = microseconds;

    public QmpEventData Data { get; } = data;

    public double TimestampSeconds => Seconds + (Microseconds / 1e6);

    public DateTimeOffset Timestamp => DateTimeOffset.FromUnixTimeSeconds(Seconds).AddTicks(Microseconds * 10);
}
