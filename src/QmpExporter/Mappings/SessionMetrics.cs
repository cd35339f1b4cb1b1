using QmpExporter.Qmp;
using QmpExporter.Telemetry;

namespace QmpExporter.Mappings;

/// <summary>The families of a VM's QMP session itself, which the session writes as it connects, fails and ends.</summary>
internal static class SessionMetrics
{
    public static readonly MetricFamily Up = MetricFamily.Gauge("qmp_up",
        "1 while the QMP session to the VM is connected and negotiated, else 0.", [], 1).SeededAtZero();

    public static readonly MetricFamily Connects = MetricFamily.Counter("qmp_connects_total",
        "QMP sessions established (greeting read and capabilities negotiated).", [], 1).SeededAtZero();

    public static readonly MetricFamily Disconnects = MetricFamily.Counter("qmp_disconnects_total",
        "Established QMP sessions that ended (QEMU exited or restarted, socket closed, protocol error).", [], 1).SeededAtZero();

    public static readonly MetricFamily ProtocolErrors = MetricFamily.Counter("qmp_protocol_errors_total",
        "QMP protocol errors: malformed or oversize lines, greeting timeouts (monitor held by another client), unanswered commands.", ["reason"], 16)
        .Seeded(QmpProtocolErrorReasons.All);

    public static IReadOnlyList<MetricFamily> Families { get; } = [Up, Connects, Disconnects, ProtocolErrors];
}
