using System.Diagnostics;
using System.Globalization;
using QmpExporter.Tests.RealQemu;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.RealLibvirt;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class OneLibvirtDaemon
{
    /// <summary>These tests share the host's one libvirtd, and one of them restarts it.</summary>
    public const string Name = "libvirt: one daemon";
}

/// <summary>
/// The libvirt source against the host's real libvirtd and QEMU 7.2 (TCG, no guest OS): every family must equal
/// what <c>virsh qemu-monitor-event --loop</c>, run beside the exporter, saw.
/// </summary>
[Collection(OneLibvirtDaemon.Name)]
public sealed class LibvirtSourceTests : IAsyncLifetime
{
    private readonly string dir = Directory.CreateTempSubdirectory("qmpx-lv-").FullName;
    private readonly List<string> domains = [];
    private readonly List<TimeSpan> virshLatencies = [];

    public async Task InitializeAsync()
    {
        // libvirt runs QEMU as libvirt-qemu: it must reach the images (it takes ownership of the files themselves).
        await ExternalTool.RunCheckedAsync("chmod", ["0755", dir]);
        await LibvirtDaemon.EnsureRunningAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var name in domains)
        {
            await LibvirtDaemon.VirshAsync("destroy", name);
        }

        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public async Task Every_family_equals_what_virsh_saw_through_jobs_media_dump_save_panic_and_a_libvirtd_restart()
    {
        await using var virshEvents = await VirshEventLog.StartAsync();
        var a = await CreateDomainAsync("a");
        var b = await CreateDomainAsync("b");

        // Both domains' start-up events (the RESUME that starts the guest) are in before the exporter starts.
        await Eventually.True(() => virshEvents.Of(a).Any(e => e.Name == "RESUME") && virshEvents.Of(b).Any(e => e.Name == "RESUME"), "a and b to run");
        virshEvents.StartFromHere();
        await using var exporter = await ExporterHost.StartAsync("--libvirt", LibvirtDaemon.Uri,
            "--QmpExporter:ActivePollInterval=00:00:00.200", "--QmpExporter:BlockStatsInterval=00:00:01", "--QmpExporter:DepartedVmGrace=00:00:03");
        var first = await exporter.WaitForAsync(s => s.Value("qmp_libvirt_up", ("uri", LibvirtDaemon.Uri)) == 1 && Up(s, a) && Up(s, b), "both domains up");
        Assert.Equal(1, first.Of(a, "qmp_connects_total"));
        var (vdbTop, vdbBacking) = await VdbNodesAsync(a);
        Assert.Equal(1, first.Of(a, "qemu_block_node_info", ("node_name", vdbTop), ("device", "virtio-disk1"), ("target", "vdb")));
        Assert.Equal(1, first.Of(a, "qemu_block_node_info", ("node_name", vdbBacking), ("device", "virtio-disk1"), ("target", "vdb")));
        Assert.Equal(0, first.Of(b, "qemu_device_tray_open", ("device", ""), ("id", "ide0-1-0")));
        var uuid = (await Virsh("domuuid", a)).StdOut.Trim();
        var info = Scrape.Labels("{" + Assert.Single(first.SeriesOf(a, "qemu_info")).Key + "}");
        Assert.Equal(uuid, info["uuid"]);
        Assert.StartsWith("7.", info["version"], StringComparison.Ordinal);

        // A domain started after the exporter, whose boot sector panics: watched from its first event.
        var c = await CreateDomainAsync("c", BootSector.Panic);
        await exporter.WaitForAsync(s => s.Of(c, "qemu_guest_panics_total", ("action", "pause")) == 1 && s.Of(c, "qemu_vm_status", ("status", "guest-panicked")) == 1,
            "the panic of the domain started after the exporter");

        await Virsh("suspend", a);
        await Virsh("resume", a);
        await Virsh("reset", a);
        await Virsh("change-media", b, "hdc", Path.Combine(dir, "cd.img"), "--insert");
        await Virsh("change-media", b, "hdc", "--eject");
        await Virsh("change-media", b, "hdc", Path.Combine(dir, "cd.img"), "--insert");
        await Virsh("dump", b, Path.Combine(dir, "b.dump"), "--memory-only");
        await Virsh("save", b, Path.Combine(dir, "b.save"));
        await Virsh("restore", Path.Combine(dir, "b.save"));

        // A throttled copy (1 MiB/s over 16 MiB), and libvirtd restarted in its middle.
        await Virsh("blockcopy", a, "vdb", Path.Combine(dir, "a-copy.qcow2"), "--bandwidth", "1");
        var job = $"copy-vdb-{vdbTop}";
        var before = await exporter.WaitForAsync(s => s.Of(a, "qemu_block_job_offset_bytes", ("job", job), ("type", "mirror")) > 0, "the copy to make progress");
        await LibvirtDaemon.RestartAsync();
        await virshEvents.RestartAsync();
        var after = await exporter.WaitForAsync(
            s => s.Value("qmp_libvirt_up", ("uri", LibvirtDaemon.Uri)) == 1 && Up(s, a) && Up(s, b)
                && s.Of(a, "qemu_block_job_offset_bytes", ("job", job), ("type", "mirror")) > before.Of(a, "qemu_block_job_offset_bytes", ("job", job), ("type", "mirror")),
            "the exporter to reconnect and the copy's offset to move on", TimeSpan.FromSeconds(60));
        foreach (var vm in (string[])[a, b, c])
        {
            Assert.Equal(Counters(before, vm), Counters(after, vm));
        }

        await Virsh("blockjob", a, "vdb", "--bandwidth", "0");
        await exporter.WaitForAsync(s => s.Of(a, "qemu_block_job_ready", ("job", job), ("type", "mirror")) == 1, "the copy to be ready", TimeSpan.FromSeconds(60));
        await Virsh("blockjob", a, "vdb", "--pivot");

        // The pivot renamed vdb's node: the info follows, and the old nodes' series go.
        var (pivotedTop, _) = await VdbNodesAsync(a);
        Assert.NotEqual(vdbTop, pivotedTop);
        await exporter.WaitForAsync(s => s.Of(a, "qemu_block_node_info", ("node_name", pivotedTop), ("device", "virtio-disk1"), ("target", "vdb")) == 1
            && s.Of(a, "qemu_block_node_info", ("node_name", vdbTop), ("device", "virtio-disk1"), ("target", "vdb")) is null
            && s.Of(a, "qemu_block_node_info", ("node_name", vdbBacking), ("device", "virtio-disk1"), ("target", "vdb")) is null,
            "vdb's node info to follow the pivot");

        await Virsh("blockcopy", a, "vdb", Path.Combine(dir, "a-copy2.qcow2"), "--bandwidth", "1");
        await Virsh("blockjob", a, "vdb", "--abort");
        await Virsh("blockpull", a, "vdb", "--wait");

        foreach (var vm in (string[])[a, b, c])
        {
            await AssertEqualsVirshAsync(exporter, virshEvents, vm);
        }

        var final = await exporter.ScrapeAsync();
        Assert.Equal(2, final.Of(b, "qmp_connects_total"));
        Assert.Equal(1, final.Of(b, "qmp_disconnects_total"));
        Assert.Equal(1, final.Of(a, "qemu_vm_status", ("status", "running")));
        Assert.Equal(1, final.Of(b, "qemu_vm_status", ("status", "running")));

        // A destroyed domain leaves after the grace; the others stay.
        await Virsh("destroy", c);
        // Shut down on purpose: no qmp_up at once (no disconnect alert), the counters for the grace, then nothing.
        await exporter.WaitForAsync(s => !s.Has("qmp_up", c) && s.Of(c, "qmp_disconnects_total") == 1, "c departed");
        await exporter.WaitForAsync(s => !s.Has("qmp_disconnects_total", c) && Up(s, a) && Up(s, b), "c to leave /metrics after the grace");

        AssertNeverOpenedAMonitor([a, b, c]);
        Assert.True(virshLatencies.Max() < TimeSpan.FromSeconds(1), $"virsh domstate took up to {virshLatencies.Max().TotalSeconds:F2} s");
    }

    /// <summary>The format nodes of vdb's image and its backing file, from the live XML's <c>index</c> attributes.</summary>
    private async Task<(string Top, string Backing)> VdbNodesAsync(string domain)
    {
        var xml = System.Xml.Linq.XDocument.Parse((await Virsh("dumpxml", domain)).StdOut);
        var disk = xml.Descendants("disk").Single(d => (string?)d.Element("target")?.Attribute("dev") == "vdb");
        return ($"libvirt-{(string?)disk.Element("source")?.Attribute("index")}-format", $"libvirt-{(string?)disk.Element("backingStore")?.Attribute("index")}-format");
    }

    private static bool Up(Scrape s, string vm) => s.Of(vm, "qmp_up") == 1;

    /// <summary>Every counter series of the VM, as text: what a libvirtd restart must not change.</summary>
    private static string Counters(Scrape scrape, string vm) => string.Join("\n", scrape.Samples
        .Where(kv => kv.Key.Contains("_total{", StringComparison.Ordinal) && kv.Key.Contains($"vm=\"{vm}\"", StringComparison.Ordinal))
        .OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key} {kv.Value}")));

    /// <summary>Waits until the exporter counted what virsh saw, then compares every event-derived family exactly.</summary>
    private static async Task AssertEqualsVirshAsync(ExporterHost exporter, VirshEventLog virshEvents, string vm)
    {
        var seen = virshEvents.Of(vm);
        Assert.NotEmpty(seen);
        string Expected() => string.Join(", ", virshEvents.Of(vm).GroupBy(e => e.Name).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key}={g.Count()}"));
        string Actual(Scrape s) => string.Join(", ", s.EventCounts(vm).Where(kv => kv.Value != 0).OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key}={kv.Value}")));
        var scrape = await exporter.WaitForAsync(s => Actual(s) == Expected(), $"{vm}'s events to equal virsh's ({Expected()})", TimeSpan.FromSeconds(30));
        seen = virshEvents.Of(vm);

        Assert.Equal(seen[^1].Timestamp, scrape.Of(vm, "qmp_last_event_timestamp_seconds")!.Value, 6);
        Assert.Equal(seen.Count(e => e.Name == "STOP"), scrape.Of(vm, "qemu_stops_total"));
        foreach (var (name, metric) in (ReadOnlySpan<(string, string)>)[("RESET", "qemu_resets_total"), ("SHUTDOWN", "qemu_shutdowns_total")])
        {
            foreach (var cause in seen.Where(e => e.Name == name).GroupBy(e => (Guest: e.Member("guest") ?? "", Reason: e.Member("reason") ?? "")))
            {
                Assert.Equal(cause.Count(), scrape.Of(vm, metric, ("guest", cause.Key.Guest.ToLowerInvariant()), ("reason", cause.Key.Reason)));
            }
        }

        foreach (var ended in seen.Where(e => e.Name is "BLOCK_JOB_COMPLETED" or "BLOCK_JOB_CANCELLED")
                     .GroupBy(e => (Type: e.Member("type")!, Result: e.Name == "BLOCK_JOB_CANCELLED" ? "cancelled" : e.Member("error") is null ? "completed" : "failed")))
        {
            Assert.Equal(ended.Count(), scrape.Of(vm, "qemu_block_jobs_finished_total", ("type", ended.Key.Type), ("result", ended.Key.Result)));
        }

        Assert.Equal(seen.Count(e => e.Name == "DUMP_COMPLETED" && e.Member("error") is null), scrape.Of(vm, "qemu_dumps_total", ("result", "completed")));
        foreach (var panic in seen.Where(e => e.Name == "GUEST_PANICKED").GroupBy(e => e.Member("action")!))
        {
            Assert.Equal(panic.Count(), scrape.Of(vm, "qemu_guest_panics_total", ("action", panic.Key)));
        }

        foreach (var tray in seen.Where(e => e.Name == "DEVICE_TRAY_MOVED").GroupBy(e => e.Member("id")!))
        {
            Assert.Equal(tray.Last().Member("tray-open") == "True" ? 1 : 0, scrape.Of(vm, "qemu_device_tray_open", ("device", ""), ("id", tray.Key)));
        }
    }

    /// <summary>
    /// The exporter (in this process) holds no socket to a domain's monitor.sock, and libvirt never marked a domain
    /// tainted (it does so for any raw monitor command).
    /// </summary>
    private static void AssertNeverOpenedAMonitor(IEnumerable<string> names)
    {
        var ours = Directory.EnumerateFiles("/proc/self/fd").Select(fd => new FileInfo(fd).LinkTarget).OfType<string>()
            .Where(t => t.StartsWith("socket:[", StringComparison.Ordinal)).Select(t => t[8..^1]).ToHashSet(StringComparer.Ordinal);
        var monitorSockets = File.ReadLines("/proc/self/net/unix").Skip(1).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length >= 8 && f[^1].EndsWith("monitor.sock", StringComparison.Ordinal) && ours.Contains(f[6])).ToList();
        Assert.Empty(monitorSockets);
        foreach (var name in names)
        {
            var log = $"/var/log/libvirt/qemu/{name}.log";
            Assert.DoesNotContain("tainted", File.Exists(log) ? File.ReadAllText(log) : "", StringComparison.Ordinal);
        }
    }

    /// <summary>Runs virsh, fails on error, and probes how long a plain domstate takes while the exporter is attached.</summary>
    private async Task<ToolResult> Virsh(params string[] args)
    {
        var result = await LibvirtDaemon.VirshCheckedAsync(args);
        if (domains.Count > 0)
        {
            var clock = Stopwatch.StartNew();
            await LibvirtDaemon.VirshAsync("domstate", domains[0]);
            virshLatencies.Add(clock.Elapsed);
        }

        return result;
    }

    /// <summary>
    /// A transient TCG domain without a guest OS: 64 MiB, a boot sector on vda, a qcow2 with a backing file on vdb, an
    /// empty CD drive and a pvpanic device; a panic leaves it paused (on_crash preserve).
    /// </summary>
    private async Task<string> CreateDomainAsync(string role, byte bootFlags = 0)
    {
        var name = RealQemuAssert.UniqueName("lv" + role);
        var boot = Path.Combine(dir, name + "-boot.img");
        BootSector.WriteImage(boot, BootSector.Create(flags: bootFlags));
        var baseImage = Path.Combine(dir, name + "-base.qcow2");
        var top = Path.Combine(dir, name + "-top.qcow2");
        await QemuRecipes.QemuImgAsync("create", "-q", "-f", "qcow2", baseImage, "32M");
        await QemuRecipes.QemuIoAsync("qcow2", baseImage, "write -P 0xab 0 16M");
        await QemuRecipes.QemuImgAsync("create", "-q", "-f", "qcow2", "-b", baseImage, "-F", "qcow2", top);
        if (!File.Exists(Path.Combine(dir, "cd.img")))
        {
            await QemuRecipes.CreateImageAsync(Path.Combine(dir, "cd.img"), "raw", "1M");
        }

        var xml = Path.Combine(dir, name + ".xml");
        await File.WriteAllTextAsync(xml, $"""
            <domain type='qemu'>
              <name>{name}</name>
              <memory unit='MiB'>64</memory>
              <vcpu>1</vcpu>
              <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
              <on_crash>preserve</on_crash>
              <devices>
                <emulator>/usr/bin/qemu-system-x86_64</emulator>
                <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='{boot}'/><target dev='vda' bus='virtio'/></disk>
                <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{top}'/><target dev='vdb' bus='virtio'/></disk>
                <disk type='file' device='cdrom'><driver name='qemu' type='raw'/><target dev='hdc' bus='ide'/><readonly/></disk>
                <panic model='isa'><address type='isa' iobase='0x505'/></panic>
              </devices>
            </domain>
            """);
        await Virsh("create", xml);
        domains.Add(name);
        return name;
    }
}
