namespace QmpExporter.Telemetry;

/// <summary>
/// Every per-VM metric the exporter serves: names, labels and HELP texts live here and nowhere else. The names are a
/// contract with dashboards, alert rules and users' queries (README "Metrics"): add, never rename.
/// </summary>
internal static class MetricCatalog
{
    private static readonly List<MetricFamily> Families = [];

    public static readonly MetricFamily Up = Add("qmp_up", MetricKind.Gauge,
        "1 while the QMP session to the VM is connected and negotiated, else 0.", [], 1);

    public static readonly MetricFamily Connects = Add("qmp_connects_total", MetricKind.Counter,
        "QMP sessions established (greeting read and capabilities negotiated).", [], 1);

    public static readonly MetricFamily Disconnects = Add("qmp_disconnects_total", MetricKind.Counter,
        "Established QMP sessions that ended (QEMU exited or restarted, socket closed, protocol error).", [], 1);

    public static readonly MetricFamily Events = Add("qmp_events_total", MetricKind.Counter,
        "QMP events received, by event name, known to the exporter or not.", ["event"], 128);

    public static readonly MetricFamily LastEventTimestamp = Add("qmp_last_event_timestamp_seconds", MetricKind.Gauge,
        "QEMU's own timestamp (Unix seconds) of the last QMP event received.", [], 1);

    public static readonly MetricFamily ProtocolErrors = Add("qmp_protocol_errors_total", MetricKind.Counter,
        "QMP protocol errors: malformed or oversize lines, greeting timeouts (monitor held by another client), unanswered commands.", ["reason"], 16);

    public static readonly MetricFamily SeriesDropped = Add("qmp_series_dropped_total", MetricKind.Counter,
        "Label sets not exported because the VM reached the per-metric series cap (QmpExporter:MaxSeriesPerVm).", ["metric"], 64);

    public static readonly MetricFamily QemuInfo = Add("qemu_info", MetricKind.Gauge,
        "1 with QEMU's version and distribution package as labels, from the QMP greeting.", ["version", "package"], 1);

    public static readonly MetricFamily VmRunning = Add("qemu_vm_running", MetricKind.Gauge,
        "1 while the VM's run state is 'running' (QMP query-status, STOP/RESUME events), else 0.", [], 1);

    public static readonly MetricFamily VmStatus = Add("qemu_vm_status", MetricKind.Gauge,
        "1 for the VM's current run state from QMP query-status (running, paused, io-error, guest-panicked, ...), 0 for the other states seen.", ["status"], 24);

    public static readonly MetricFamily Resets = Add("qemu_resets_total", MetricKind.Counter,
        "VM resets from the QMP RESET event, by whether the guest asked for it and QEMU's reason.", ["guest", "reason"], 32);

    public static readonly MetricFamily Shutdowns = Add("qemu_shutdowns_total", MetricKind.Counter,
        "VM shutdowns from the QMP SHUTDOWN event, by whether the guest asked for it and QEMU's reason.", ["guest", "reason"], 32);

    public static readonly MetricFamily Stops = Add("qemu_stops_total", MetricKind.Counter,
        "Times the VM was paused (QMP STOP event); query-status tells why, see qemu_vm_status.", [], 1);

    public static IReadOnlyList<MetricFamily> All => Families;

    private static MetricFamily Add(string name, MetricKind kind, string help, string[] labels, int maxSeriesPerVm)
    {
        var family = new MetricFamily(name, kind, help, labels, maxSeriesPerVm) { Index = Families.Count };
        Families.Add(family);
        return family;
    }
}
