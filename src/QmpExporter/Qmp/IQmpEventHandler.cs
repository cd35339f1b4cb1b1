namespace QmpExporter.Qmp;

/// <summary>
/// Receives what a <see cref="QmpClient"/> reads that is not a command reply. Both methods run on the
/// connection's read loop, in arrival order: they must be quick and must not block or throw.
/// </summary>
internal interface IQmpEventHandler
{
    void OnEvent(in QmpEvent evt);

    /// <summary>A problem that leaves the connection usable, such as a malformed line; <paramref name="reason"/> is a <see cref="QmpProtocolErrorReasons"/> value.</summary>
    void OnProtocolError(string reason, string detail);
}
