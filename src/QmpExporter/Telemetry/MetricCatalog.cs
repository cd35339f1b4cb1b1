namespace QmpExporter.Telemetry;

/// <summary>
/// Every per-VM metric the exporter serves: names, labels and HELP texts live here and nowhere else. The names are a
/// contract with dashboards, alert rules and users' queries (README "Metrics"): add, never rename.
/// </summary>
internal static class MetricCatalog
{
    /// <summary>The cap of a family whose labels are free-form names (devices, nodes, jobs): QmpExporter:MaxSeriesPerVm.</summary>
    public const int Configured = 0;

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
        "1 with QEMU's version and distribution package as labels, from the QMP greeting (for libvirt domains from the domain's emulator), and the VM's UUID where known (libvirt domains).", ["version", "package", "uuid"], 1);

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

    public static readonly MetricFamily BlockIoErrors = Add("qemu_block_io_errors_total", MetricKind.Counter,
        "Guest I/O errors from the QMP BLOCK_IO_ERROR event, by drive (device, \"\" for -blockdev), node (auto-generated #block names resolved to the device), operation, action taken and whether the disk was out of space (\"\" when QEMU did not say). QEMU may report the root node attached to the device rather than the node that failed.",
        ["device", "node_name", "operation", "action", "nospace"], Configured);

    public static readonly MetricFamily BlockFailedOperations = Add("qemu_block_failed_operations_total", MetricKind.Counter,
        "Failed block operations as QEMU counts them (query-blockstats failed_*_operations, polled every QmpExporter:BlockStatsInterval): the authoritative total beside qemu_block_io_errors_total. Resets when QEMU restarts.",
        ["device", "node_name", "operation"], Configured);

    public static readonly MetricFamily BlockJobOffset = Add("qemu_block_job_offset_bytes", MetricKind.Gauge,
        "Progress of a block job (QMP BLOCK_JOB_* events and query-block-jobs, polled while jobs run); equal to qemu_block_job_len_bytes on success. Kept for QmpExporter:FinishedJobRetention after the job ends.",
        ["job", "type"], Configured);

    public static readonly MetricFamily BlockJobLen = Add("qemu_block_job_len_bytes", MetricKind.Gauge,
        "Total work of a block job in bytes (query-block-jobs len); it may grow while the job runs.", ["job", "type"], Configured);

    public static readonly MetricFamily BlockJobSpeed = Add("qemu_block_job_speed_bytes_per_second", MetricKind.Gauge,
        "Rate limit of a block job in bytes per second, 0 for unlimited (query-block-jobs speed).", ["job", "type"], Configured);

    public static readonly MetricFamily BlockJobReady = Add("qemu_block_job_ready", MetricKind.Gauge,
        "1 once a mirror or active-commit job is ready to complete (QMP BLOCK_JOB_READY, query-block-jobs ready), else 0.", ["job", "type"], Configured);

    public static readonly MetricFamily BlockJobsFinished = Add("qemu_block_jobs_finished_total", MetricKind.Counter,
        "Block jobs that ended, by type and result: completed, failed (BLOCK_JOB_COMPLETED with an error) or cancelled (BLOCK_JOB_CANCELLED). A mirror cancelled after it was ready counts as completed, as QEMU reports it.",
        ["type", "result"], 64);

    public static readonly MetricFamily BlockJobErrors = Add("qemu_block_job_errors_total", MetricKind.Counter,
        "Errors inside block jobs from the QMP BLOCK_JOB_ERROR event, by operation and the action taken (report, ignore, stop).", ["operation", "action"], 16);

    public static readonly MetricFamily MigrationPass = Add("qemu_migration_pass", MetricKind.Gauge,
        "Dirty-memory pass of the current or last outgoing migration (QMP MIGRATION_PASS, query-migrate ram.dirty-sync-count); many passes mean it does not converge.", [], 1);

    public static readonly MetricFamily MigrationStatus = Add("qemu_migration_status", MetricKind.Gauge,
        "1 for the current migration status (QMP MIGRATION event, query-migrate), 0 for the other statuses seen.", ["status"], 24);

    public static readonly MetricFamily Migrations = Add("qemu_migrations_total", MetricKind.Counter,
        "Outgoing migrations that ended, by result: completed, failed or cancelled (QMP MIGRATION event). Needs the 'events' migration capability, which libvirt sets.",
        ["result"], 8);

    public static readonly MetricFamily TrayOpen = Add("qemu_device_tray_open", MetricKind.Gauge,
        "1 while the tray of a removable drive is open, else 0 (QMP DEVICE_TRAY_MOVED, query-block tray_open), by drive (device, \"\" for -blockdev) and guest device id.",
        ["device", "id"], Configured);

    public static readonly MetricFamily Dumps = Add("qemu_dumps_total", MetricKind.Counter,
        "Guest memory dumps that ended, by result: completed or failed (QMP DUMP_COMPLETED).", ["result"], 4);

    public static readonly MetricFamily DumpLastBytes = Add("qemu_dump_last_bytes", MetricKind.Gauge,
        "Size in bytes of the last guest memory dump (QMP DUMP_COMPLETED result.total).", [], 1);

    public static readonly MetricFamily GuestPanics = Add("qemu_guest_panics_total", MetricKind.Counter,
        "Guest kernel panics reported through pvpanic or Hyper-V crash MSRs (QMP GUEST_PANICKED), by the action QEMU took (pause, poweroff, run).", ["action"], 8);

    public static readonly MetricFamily QuorumBadReports = Add("qemu_quorum_bad_reports_total", MetricKind.Counter,
        "Quorum children that disagreed or failed (QMP QUORUM_REPORT_BAD), by child node and operation. A lower bound: QEMU sends at most one per second per node and drops the rest.",
        ["node_name", "type"], Configured);

    public static readonly MetricFamily QuorumBadSectors = Add("qemu_quorum_bad_sectors_total", MetricKind.Counter,
        "Sectors reported bad in quorum children (sectors-count of QMP QUORUM_REPORT_BAD). A lower bound: QEMU sends at most one event per second per node and drops the rest.",
        ["node_name", "type"], Configured);

    public static readonly MetricFamily QuorumFailures = Add("qemu_quorum_failures_total", MetricKind.Counter,
        "Quorum reads where no two children agreed (QMP QUORUM_FAILURE). A lower bound: QEMU sends at most one per second.", [], 1);

    public static readonly MetricFamily BlockNodeInfo = Add("qemu_block_node_info", MetricKind.Gauge,
        "1 for each block node of a libvirt domain's disks, joining QEMU's node name (libvirt-N-format) to libvirt's disk target and QEMU's device id; kept current as nodes are renamed by blockcopy, commit, snapshots and media changes.",
        ["node_name", "device", "target"], Configured);

    public static IReadOnlyList<MetricFamily> All => Families;

    private static MetricFamily Add(string name, MetricKind kind, string help, string[] labels, int maxSeriesPerVm)
    {
        var family = new MetricFamily(name, kind, help, labels, maxSeriesPerVm) { Index = Families.Count };
        Families.Add(family);
        return family;
    }
}
