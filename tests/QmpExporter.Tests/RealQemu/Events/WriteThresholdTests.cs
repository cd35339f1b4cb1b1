using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.RealQemu.Events;

/// <summary>The write threshold set on a node, as the control monitor's query-named-block-nodes says, until it fires.</summary>
public sealed class WriteThresholdTests
{
    [Fact]
    public async Task The_threshold_set_shows_until_a_write_crosses_it()
    {
        using var scratch = new ScratchDir();
        await QemuRecipes.CreateJobImagesAsync(scratch.Root);
        await using var qemu = await QemuVm.StartAsync(new QemuVmOptions { Args = [.. QemuRecipes.JobTopArgs(scratch.Root)] });
        var a = RealQemuAssert.UniqueName("wthr");
        await using var exporter = await ExporterHost.StartAsync("--vm", $"{a}={qemu.ExporterSocket}", "--QmpExporter:BlockStatsInterval=00:00:00.200");
        await exporter.WaitForAsync(s => s.Of(a, "qmp_up") == 1, $"vm {a} up");

        await qemu.ExecuteAsync("block-set-write-threshold", """{"node-name": "top", "write-threshold": 1048576}""");
        var set = await ThresholdsAsync(qemu);
        Assert.Equal(1048576, set["top"]);
        await exporter.SettleAsync("the threshold set", s => ControlTruth.Diff("qemu_block_write_threshold_bytes",
            set.ToDictionary(kv => Scrape.Key(("node_name", kv.Key)), kv => (double)kv.Value, StringComparer.Ordinal), s.SeriesOf(a, "qemu_block_write_threshold_bytes")));

        await qemu.HmpAsync("qemu-io top \"write 1048576 65536\"");
        await qemu.ControlEvents.WaitForAsync("BLOCK_WRITE_THRESHOLD");
        var crossing = qemu.ControlEvents.Events.Single(e => e.Name == "BLOCK_WRITE_THRESHOLD");
        Assert.Empty(await ThresholdsAsync(qemu));
        var scrape = await exporter.SettleAsync("the threshold cleared", s => ControlTruth.FirstOf(
            s.EventsDiff(a, qemu),
            s.SeriesOf(a, "qemu_block_write_threshold_bytes").Count == 0 ? null : "the threshold is still exported"));
        Assert.Equal(1, scrape.Of(a, "qemu_block_write_threshold_exceeded_total", ("node_name", "top")));
        Assert.Equal(crossing.Long("amount-exceeded"), scrape.Of(a, "qemu_block_write_threshold_last_exceeded_bytes", ("node_name", "top")));
    }

    /// <summary>Every node with a threshold set, by node name, from the control monitor.</summary>
    private static async Task<Dictionary<string, long>> ThresholdsAsync(QemuVm qemu) =>
        (await qemu.ExecuteAsync("query-named-block-nodes")).EnumerateArray()
            .Where(n => n.GetProperty("write_threshold").GetInt64() > 0)
            .ToDictionary(n => n.GetProperty("node-name").GetString()!, n => n.GetProperty("write_threshold").GetInt64(), StringComparer.Ordinal);
}
