namespace QmpExporter.Qmp;

internal sealed class QmpClientOptions
{
    /// <summary>Longest line accepted from QEMU; schema replies are large, events small.</summary>
    public int MaxLineBytes { get; init; } = 16 * 1024 * 1024;

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>QEMU greets within milliseconds; silence means another client holds the monitor.</summary>
    public TimeSpan GreetingTimeout { get; init; } = TimeSpan.FromSeconds(5);

    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
