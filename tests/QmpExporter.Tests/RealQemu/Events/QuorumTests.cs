using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.RealQemu.Events;

/// <summary>QUORUM_REPORT_BAD and QUORUM_FAILURE from HMP qemu-io reads on two quorums (README section 4 of /work/shared/qemu).</summary>
public sealed class QuorumTests
{
    [Fact]
    public async Task Bad_reports_their_sectors_and_failures_equal_the_control_monitors_sums()
    {
        await using var rig = await QemuRig.StartAsync("quorum", new QemuVmOptions { Args = ["-S"] }, async scratch =>
        {
            await QemuRecipes.CreateQuorumImagesAsync(scratch.Root, "q");
            await QemuRecipes.CreateQuorumImagesAsync(scratch.Root, "p");
            return
            [
                "-blockdev", QemuRecipes.QuorumJson("quorum0", scratch.Root, "q", "qchild", failingChild: 1),
                "-blockdev", QemuRecipes.QuorumJson("quorum1", scratch.Root, "p", "pchild"),
            ];
        });
        var (qemu, exporter, a) = (rig.Qemu, rig.Exporter, rig.Vm);

        // quorum0: child 1 fails and child 2 differs, so no two agree: REPORT_BAD for qchild1 and a QUORUM_FAILURE.
        // quorum1: child 2 differs and is outvoted: REPORT_BAD for pchild2. One read per node: nothing is rate-limited.
        await qemu.HmpAsync("qemu-io quorum0 \"read 0 4k\"");
        await qemu.HmpAsync("qemu-io quorum1 \"read 0 8k\"");
        await qemu.ControlEvents.WaitForAsync("QUORUM_FAILURE");
        await qemu.ControlEvents.WaitForAsync("QUORUM_REPORT_BAD", 2);

        var bad = qemu.ControlEvents.Events.Where(e => e.Name == "QUORUM_REPORT_BAD")
            .GroupBy(e => Scrape.Key(("node_name", e.Str("node-name")!), ("type", e.Str("type")!)), StringComparer.Ordinal).ToList();
        var reports = bad.ToDictionary(g => g.Key, g => (double)g.Count(), StringComparer.Ordinal);
        var sectors = bad.ToDictionary(g => g.Key, g => (double)g.Sum(e => e.Long("sectors-count")), StringComparer.Ordinal);
        Assert.Equal(2, reports.Count);
        var scrape = await exporter.SettleAsync("the quorum events counted", s => ControlTruth.FirstOf(
            s.EventsDiff(a, qemu),
            ControlTruth.Diff("qemu_quorum_bad_reports_total", reports, s.SeriesOf(a, "qemu_quorum_bad_reports_total")),
            ControlTruth.Diff("qemu_quorum_bad_sectors_total", sectors, s.SeriesOf(a, "qemu_quorum_bad_sectors_total")),
            s.Of(a, "qemu_quorum_failures_total") == qemu.ControlCounts()["QUORUM_FAILURE"] ? null : "qemu_quorum_failures_total differs"));
        RealQemuAssert.EventsMatchControl(scrape, a, qemu);
        Assert.Equal(8, scrape.Of(a, "qemu_quorum_bad_sectors_total", ("node_name", "qchild1"), ("type", "read")));
        Assert.Equal(16, scrape.Of(a, "qemu_quorum_bad_sectors_total", ("node_name", "pchild2"), ("type", "read")));
        Assert.Equal(1, scrape.Of(a, "qemu_quorum_failures_total"));
    }
}
