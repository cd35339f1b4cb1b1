using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using QmpExporter.Tests.Support;
using Xunit.Abstractions;

namespace QmpExporter.Tests.Operations;

/// <summary>
/// The decisive check of the operator kit: real QEMU VMs go through every kind of event the dashboard shows, the
/// in-process exporter serves them, a real Prometheus scrapes it every second and evaluates the alert rules, and
/// every dashboard query returns data through the HTTP API, as Grafana would ask for it: a non-zero value, since
/// zero-seeded counters and connect-time gauges return data before any event. The events start only after
/// Prometheus's first scrape, so rates and increases see them.
/// </summary>
public sealed class PrometheusEndToEndTests(ITestOutputHelper output)
{
    private const string Job = "qmp-exporter-e2e";
    private static readonly TimeSpan DataDeadline = TimeSpan.FromSeconds(40);

    /// <summary>Dashboard queries that may stay zero after the run, each with why. Every other query must show a non-zero value.</summary>
    private static readonly Dictionary<string, string> MayBeZero = new(StringComparer.Ordinal)
    {
        ["qmp_connects_total"] = "every VM connects before Prometheus's first scrape, so the increase is 0; ReconnectTests covers reconnects",
    };

    [Fact]
    public async Task Every_dashboard_query_and_the_alerts_return_data_from_prometheus_scraping_real_qemu()
    {
        var clock = Stopwatch.StartNew();
        var timings = new List<string>();
        void Mark(string what) => timings.Add(string.Create(CultureInfo.InvariantCulture, $"{clock.Elapsed.TotalSeconds,5:0.0} s {what}"));

        // Missing tools fail here, before anything starts.
        foreach (var tool in (string[])["qemu-img", "qemu-io", "prometheus"])
        {
            ExternalTool.Find(tool);
        }

        var prefix = "ops" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
        var names = new Names(prefix);
        var work = Directory.CreateTempSubdirectory("qx-");
        var vms = new List<QemuVm>();
        SilentMonitor? silent = null;
        ExporterHost? exporter = null;
        PrometheusServer? prometheus = null;
        try
        {
            // Every VM starts paused (-S) so that no event happens before the exporter listens.
            var starts = new[]
            {
                QemuVm.StartAsync("-S", "-device", "ide-cd,id=cd0,bus=ide.1,unit=0"),
                QemuVm.StartAsync(new QemuVmOptions
                {
                    // The boot sector reads LBA 1; blkdebug fails that read once; rerror=stop pauses the VM in io-error.
                    BootSector = BootSector.Create(flags: BootSector.Read),
                    AttachBootImage = false,
                    Args =
                    [
                        "-S", "-blockdev",
                        """{"driver":"raw","node-name":"disk0","file":{"driver":"blkdebug","node-name":"disk0-dbg","image":{"driver":"file","filename":"{dir}/boot.img"},"inject-error":[{"event":"read_aio","iotype":"read","errno":5,"sector":1,"once":true}]}}""",
                        "-device", "ide-hd,drive=disk0,id=ide0,rerror=stop,werror=stop",
                    ],
                }),
                QemuVm.StartAsync(new QemuVmOptions
                {
                    // SeaBIOS's own MBR read fails; rerror=report hands the error to the "guest" and QEMU counts it.
                    BootSector = BootSector.Create(),
                    AttachBootImage = false,
                    Args =
                    [
                        "-S", "-drive",
                        "if=none,id=drive0,node-name=disk1,format=raw,file.driver=blkdebug,file.image.filename={dir}/boot.img,file.inject-error.0.event=read_aio,file.inject-error.0.errno=5,rerror=report,werror=report",
                        "-device", "ide-hd,drive=drive0,bootindex=1",
                    ],
                }),
                QemuVm.StartAsync("-S"),
                QemuVm.StartAsync("-S"),
                QemuVm.StartAsync(new QemuVmOptions
                {
                    // pvpanic with the default panic action: GUEST_PANICKED poweroff, SHUTDOWN guest-panic, QEMU exits.
                    BootSector = BootSector.Create(flags: BootSector.Panic),
                    Args = ["-S", "-device", "pvpanic"],
                }),
            };
            try
            {
                vms.AddRange(await Task.WhenAll(starts));
            }
            finally
            {
                // Whatever started is disposed below, even if another start failed.
                vms.AddRange(starts.Where(t => t.IsCompletedSuccessfully && !vms.Contains(t.Result)).Select(t => t.Result));
            }

            var (run, ioStop, ioReport, blk, mig, panic) = (vms[0], vms[1], vms[2], vms[3], vms[4], vms[5]);
            silent = new SilentMonitor(Path.Combine(work.FullName, "busy.qmp"));
            Mark("6 QEMUs started");

            exporter = await ExporterHost.StartAsync(
                "--vm", $"{names.Run}={run.ExporterSocket}",
                "--vm", $"{names.IoStop}={ioStop.ExporterSocket}",
                "--vm", $"{names.IoReport}={ioReport.ExporterSocket}",
                "--vm", $"{names.Blk}={blk.ExporterSocket}",
                "--vm", $"{names.Mig}={mig.ExporterSocket}",
                "--vm", $"{names.Panic}={panic.ExporterSocket}",
                "--vm", $"{names.Busy}={silent.Path}",
                "--QmpExporter:BlockStatsInterval=00:00:01");
            prometheus = await PrometheusServer.StartAsync(work.FullName, PrometheusConfig(exporter.BaseAddress));
            Mark($"exporter on {exporter.BaseAddress}, prometheus on {prometheus.BaseAddress}");

            string[] real = [names.Run, names.IoStop, names.IoReport, names.Blk, names.Mig, names.Panic];
            await exporter.WaitForAsync(s => real.All(vm => s.Value("qmp_up", ("vm", vm)) == 1), "the exporter connected to all 6 VMs");
            Mark("exporter connected to every VM");

            // Events before Prometheus's first scrape would be in its first samples already: no rate or increase would show them.
            await Poll(prometheus, [$"up{{job=\"{Job}\"}} == 1"], "Prometheus scraping the exporter", TimeSpan.FromSeconds(20), exporter);
            Mark("first successful scrape");

            await Task.WhenAll(
                RunStateTrayAndDumpAsync(run),
                IoErrorAsync(ioStop),
                IoErrorAsync(ioReport),
                BlockJobsAndQuorumAsync(blk),
                MigrationsAsync(mig),
                PanicAsync(panic));
            Mark("every VM went through its events");

            var variables = new Dictionary<string, string>(StringComparer.Ordinal) { ["job"] = Job, ["instance"] = ".*", ["vm"] = prefix + "-.*" };
            var panels = DashboardQueries.All(DashboardQueries.Load());
            string Wanted(PanelQuery p) => MayBeZero.Keys.Any(m => p.Expr.Contains(m, StringComparison.Ordinal))
                ? p.Substitute(variables, "1m")
                : $"({p.Substitute(variables, "1m")}) != 0";
            Assert.All(MayBeZero.Keys, m => Assert.Contains(panels, p => p.Expr.Contains(m, StringComparison.Ordinal)));
            await Poll(prometheus, panels.Select(Wanted).Distinct().ToList(),
                $"every one of the dashboard's {panels.Count} queries to return a non-zero value for the test's VMs", DataDeadline, exporter,
                describe: e => string.Join("; ", panels.Where(p => Wanted(p) == e).Select(p => $"panel {p.PanelId} '{p.Panel}' {p.RefId}")));
            Mark($"all {panels.Count} dashboard queries returned non-zero data");

            // The block job id is the exporter's label `job`; Prometheus keeps the scrape job and renames it.
            await Poll(prometheus, [$"qemu_block_job_offset_bytes{{job=\"{Job}\", vm=\"{names.Blk}\", exported_job=\"stream-ok\", type=\"stream\"}}"],
                "the block job id as exported_job", TimeSpan.FromSeconds(5), exporter);

            var rules = await AlertRules.LoadAsync();
            var ioRule = rules.Single(r => r.Name == "QemuBlockIoErrors");
            await Poll(prometheus, [$"({ioRule.Expr}) and on (vm) qmp_up{{vm=\"{names.IoStop}\"}}", $"({ioRule.Expr}) and on (vm) qmp_up{{vm=\"{names.IoReport}\"}}"],
                "the QemuBlockIoErrors expression for both I/O-error VMs", TimeSpan.FromSeconds(10), exporter);

            string[] alerts =
            [
                Alert("QemuBlockIoErrors", names.IoStop, "firing"),
                Alert("QemuBlockIoErrors", names.IoReport, "firing"),
                Alert("QemuVmPausedOnIoError", names.IoStop, null),
                Alert("QemuBlockJobFailed", names.Blk, "firing"),
                Alert("QemuQuorumBadReports", names.Blk, "firing"),
                Alert("QemuQuorumFailure", names.Blk, "firing"),
                Alert("QemuMigrationFailed", names.Mig, "firing"),
                Alert("QemuGuestPanicked", names.Panic, "firing"),
                Alert("QmpMonitorDisconnected", names.Panic, null),
                Alert("QmpMonitorDisconnected", names.Busy, null),
                Alert("QmpProtocolErrors", names.Busy, "firing"),
            ];
            await Poll(prometheus, alerts, "the alerts the events must raise (ALERTS)", TimeSpan.FromSeconds(15), exporter);
            Mark("the alerts are pending or firing");
        }
        finally
        {
            output.WriteLine(string.Join('\n', timings));
            if (prometheus is not null)
            {
                await prometheus.DisposeAsync();
            }

            if (exporter is not null)
            {
                await exporter.DisposeAsync();
            }

            foreach (var vm in vms)
            {
                await vm.DisposeAsync();
            }

            if (silent is not null)
            {
                await silent.DisposeAsync();
            }

            work.Delete(recursive: true);
        }
    }

    private static string Alert(string name, string vm, string? state) =>
        state is null ? $"ALERTS{{alertname=\"{name}\", vm=\"{vm}\"}}" : $"ALERTS{{alertname=\"{name}\", vm=\"{vm}\", alertstate=\"{state}\"}}";

    private static string PrometheusConfig(Uri exporter) => $"""
        global:
          scrape_interval: 1s
          scrape_timeout: 1s
          evaluation_interval: 1s
        rule_files:
          - {JsonSerializer.Serialize(Repository.RulesFile)}
        scrape_configs:
          - job_name: {Job}
            static_configs:
              - targets: ["{exporter.Authority}"]
        """;

    /// <summary>stop, cont, system_reset; the CD tray opened; a guest memory dump.</summary>
    private static async Task RunStateTrayAndDumpAsync(QemuVm vm)
    {
        await vm.ExecuteAsync("cont");
        await vm.ExecuteAsync("stop");
        await vm.ExecuteAsync("cont");
        await vm.ExecuteAsync("system_reset");
        await vm.ExecuteAsync("blockdev-open-tray", """{"id":"cd0"}""");
        await vm.ExecuteAsync("dump-guest-memory", $$"""{"paging":false,"protocol":{{JsonSerializer.Serialize("file:" + vm.Path("mem.elf"))}},"detach":true}""");
        await vm.ControlEvents.WaitForAsync("DUMP_COMPLETED");
        await vm.ControlEvents.WaitForAsync("DEVICE_TRAY_MOVED");
    }

    private static async Task IoErrorAsync(QemuVm vm)
    {
        await vm.ExecuteAsync("cont");
        await vm.ControlEvents.WaitForAsync("BLOCK_IO_ERROR");
    }

    /// <summary>
    /// A block-stream that completes and one whose base fails to read (BLOCK_JOB_ERROR, then COMPLETED with an error),
    /// then a quorum read where one child fails and another disagrees (QUORUM_REPORT_BAD and QUORUM_FAILURE).
    /// </summary>
    private static async Task BlockJobsAndQuorumAsync(QemuVm vm)
    {
        foreach (var chain in (string[])["a", "b"])
        {
            await ExternalTool.RunCheckedAsync("qemu-img", ["create", "-q", "-f", "qcow2", vm.Path($"base-{chain}.qcow2"), "32M"]);
            await ExternalTool.RunCheckedAsync("qemu-io", ["-f", "qcow2", "-c", "write -P 0xab 0 4M", vm.Path($"base-{chain}.qcow2")]);
            await ExternalTool.RunCheckedAsync("qemu-img", ["create", "-q", "-f", "qcow2", "-b", vm.Path($"base-{chain}.qcow2"), "-F", "qcow2", vm.Path($"top-{chain}.qcow2")]);
        }

        foreach (var child in (string[])["q0", "q1", "q2"])
        {
            await ExternalTool.RunCheckedAsync("qemu-img", ["create", "-q", "-f", "raw", vm.Path($"{child}.img"), "1M"]);
        }

        await ExternalTool.RunCheckedAsync("qemu-io", ["-f", "raw", "-c", "write -P 0x55 0 64k", vm.Path("q2.img")]);

        string File(string name) => JsonSerializer.Serialize(vm.Path(name));
        await vm.ExecuteAsync("blockdev-add", $$$"""{"driver":"qcow2","node-name":"top-a","file":{"driver":"file","filename":{{{File("top-a.qcow2")}}}}}""");
        await vm.ExecuteAsync("blockdev-add",
            $$$"""{"driver":"qcow2","node-name":"base-b","file":{"driver":"blkdebug","image":{"driver":"file","filename":{{{File("base-b.qcow2")}}}},"inject-error":[{"event":"read_aio","errno":5}]}}""");
        await vm.ExecuteAsync("blockdev-add", $$$"""{"driver":"qcow2","node-name":"top-b","file":{"driver":"file","filename":{{{File("top-b.qcow2")}}}},"backing":"base-b"}""");
        await vm.ExecuteAsync("block-stream", """{"job-id":"stream-ok","device":"top-a","speed":4194304}""");
        await vm.ExecuteAsync("block-stream", """{"job-id":"stream-bad","device":"top-b","on-error":"report"}""");

        await vm.ExecuteAsync("blockdev-add",
            $$$"""{"driver":"quorum","node-name":"quorum0","vote-threshold":2,"children":[{"driver":"raw","node-name":"qchild0","file":{"driver":"file","filename":{{{File("q0.img")}}}}},{"driver":"raw","node-name":"qchild1","file":{"driver":"blkdebug","image":{"driver":"file","filename":{{{File("q1.img")}}}},"inject-error":[{"event":"read_aio","errno":5}]}},{"driver":"raw","node-name":"qchild2","file":{"driver":"file","filename":{{{File("q2.img")}}}}}]}""");
        await vm.ExecuteAsync("human-monitor-command", """{"command-line":"qemu-io quorum0 \"read 0 4k\""}""");

        await vm.ControlEvents.WaitForAsync("QUORUM_FAILURE");
        await vm.ControlEvents.WaitForAsync("BLOCK_JOB_ERROR");
        await vm.ControlEvents.WaitForAsync("BLOCK_JOB_COMPLETED", 2);

        // A mirror that is left ready, for the "ready" panel.
        await vm.ExecuteAsync("blockdev-add", """{"driver":"null-co","node-name":"mirror-target","size":33554432}""");
        await vm.ExecuteAsync("blockdev-mirror", """{"job-id":"mirror-ready","device":"top-a","target":"mirror-target","sync":"full"}""");
        await vm.ControlEvents.WaitForAsync("BLOCK_JOB_READY");
    }

    /// <summary>
    /// With the events capability: a migration that fails (exec:exit 1), one that completes, then one held at 1 KB/s
    /// that stays active for the "active migrations" panel.
    /// </summary>
    private static async Task MigrationsAsync(QemuVm vm)
    {
        await vm.ExecuteAsync("cont");
        await vm.ExecuteAsync("migrate-set-capabilities", """{"capabilities":[{"capability":"events","state":true}]}""");
        await vm.ExecuteAsync("migrate", """{"uri":"exec:exit 1"}""");
        await MigrationStatusAsync(vm, "failed");
        await vm.ExecuteAsync("migrate", """{"uri":"exec:cat > /dev/null"}""");
        await MigrationStatusAsync(vm, "completed");
        await vm.ExecuteAsync("cont");
        await vm.ExecuteAsync("migrate-set-parameters", """{"max-bandwidth":1024}""");
        await vm.ExecuteAsync("migrate", """{"uri":"exec:cat > /dev/null"}""");
        await Eventually.Get(() => vm.ExecuteAsync("query-migrate"), r => r.GetProperty("status").GetString() == "active", "the held migration active");
    }

    private static Task MigrationStatusAsync(QemuVm vm, string status) =>
        Eventually.True(() => vm.ControlEvents.Events.Any(e => e.Name == "MIGRATION" && e.Data.Contains($"\"{status}\"", StringComparison.Ordinal)),
            $"MIGRATION {status}");

    private static async Task PanicAsync(QemuVm vm)
    {
        await vm.ExecuteAsync("cont");
        await vm.WaitForExitAsync(TimeSpan.FromSeconds(15));
    }

    /// <summary>Queries every expression until each returns at least one series, or fails naming those that did not.</summary>
    private static async Task Poll(PrometheusServer prometheus, IReadOnlyList<string> expressions, string what, TimeSpan timeout, ExporterHost exporter,
        Func<string, string>? describe = null)
    {
        var pending = expressions.ToHashSet(StringComparer.Ordinal);
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var results = await Task.WhenAll(pending.Select(async e => (Expr: e, Result: await prometheus.QueryAsync(e))));
            pending.ExceptWith(results.Where(r => r.Result.GetArrayLength() > 0).Select(r => r.Expr));
            if (pending.Count == 0)
            {
                return;
            }

            if (deadline.Elapsed > timeout)
            {
                var scrape = await exporter.ScrapeAsync();
                var message = new StringBuilder()
                    .Append(CultureInfo.InvariantCulture, $"timed out after {timeout.TotalSeconds} s waiting for {what}; {pending.Count} of {expressions.Count} returned no data:\n");
                foreach (var e in pending)
                {
                    message.Append("  ").Append(describe?.Invoke(e) is { Length: > 0 } d ? d + ": " : "").AppendLine(e);
                }

                message.AppendLine("--- exporter /metrics (test VMs) ---")
                    .AppendLine(string.Join('\n', scrape.Text.Split('\n').Where(l => l.Contains("vm=\"ops", StringComparison.Ordinal) || l.StartsWith("qmp_exporter", StringComparison.Ordinal))))
                    .AppendLine("--- prometheus log (tail) ---")
                    .AppendLine(string.Join('\n', prometheus.Log.Split('\n').TakeLast(30)));
                throw new Xunit.Sdk.XunitException(message.ToString());
            }

            await Task.Delay(250);
        }
    }

    private sealed record Names(string Prefix)
    {
        public string Run => Prefix + "-run";

        public string IoStop => Prefix + "-iostop";

        public string IoReport => Prefix + "-ioreport";

        public string Blk => Prefix + "-blk";

        public string Mig => Prefix + "-mig";

        public string Panic => Prefix + "-panic";

        public string Busy => Prefix + "-busy";
    }
}
