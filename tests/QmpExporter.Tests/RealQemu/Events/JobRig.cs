using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.RealQemu;

/// <summary>
/// A block-job test's <see cref="QemuRig"/>: the job images (<see cref="QemuRecipes.CreateJobImagesAsync"/>) in its
/// scratch dir, QEMU started with <c>-S</c> and node <c>top</c> (plus what <c>prepare</c> returns), and an exporter
/// that polls jobs every 100 ms.
/// </summary>
internal sealed class JobRig : IAsyncDisposable
{
    public const string FastPolling = "--QmpExporter:ActivePollInterval=00:00:00.100";

    private readonly QemuRig rig;

    private JobRig(QemuRig rig) => this.rig = rig;

    public ScratchDir Scratch => rig.Scratch;

    public QemuVm Qemu => rig.Qemu;

    public ExporterHost Exporter => rig.Exporter;

    /// <summary>The VM's name in the exporter (the <c>vm</c> label).</summary>
    public string Vm => rig.Vm;

    /// <param name="prefix">The start of the unique VM name.</param>
    /// <param name="prepare">Creates further images in the scratch dir and returns further QEMU arguments.</param>
    /// <param name="exporterArgs">Further exporter arguments.</param>
    public static async Task<JobRig> StartAsync(string prefix, Func<ScratchDir, Task<string[]>>? prepare = null, params string[] exporterArgs) =>
        new(await QemuRig.StartAsync(
            prefix,
            new QemuVmOptions { Args = ["-S"] },
            async scratch =>
            {
                await QemuRecipes.CreateJobImagesAsync(scratch.Root);
                string[] extra = prepare is null ? [] : await prepare(scratch);
                return [.. QemuRecipes.JobTopArgs(scratch.Root), .. extra];
            },
            exporterArgs: [FastPolling, .. exporterArgs]));

    /// <summary>A raw image of the source's size for a mirror target, behind blkdebug with these rules: <c>-blockdev</c> arguments.</summary>
    public static async Task<string[]> FailingTargetAsync(ScratchDir scratch, string nodeName, params BlkdebugRule[] rules)
    {
        var image = scratch.Path(nodeName + ".raw");
        await QemuRecipes.CreateImageAsync(image, "raw", "32M");
        return ["-blockdev", QemuRecipes.BlkdebugJson(nodeName, image, rules)];
    }

    private static readonly string[] JobGauges = ["qemu_block_job_offset_bytes", "qemu_block_job_len_bytes", "qemu_block_job_speed_bytes_per_second", "qemu_block_job_ready"];

    /// <summary>True while any job gauge of <paramref name="job"/> is served.</summary>
    public bool HasJobSeries(Scrape scrape, string job) =>
        JobGauges.Any(metric => scrape.SeriesOf(Vm, metric).Keys.Any(k => k.Contains($"job=\"{job}\"", StringComparison.Ordinal)));

    /// <summary>
    /// Waits until the exporter agrees with the control monitor on every event count, on
    /// qemu_block_jobs_finished_total and on qemu_block_job_errors_total.
    /// </summary>
    public async Task<Scrape> SettleAsync(string what, Func<Scrape, string?>? more = null)
    {
        var outcomes = ControlTruth.JobOutcomes(Qemu);
        var errors = ControlTruth.JobErrors(Qemu);
        var scrape = await Exporter.SettleAsync(what, s => ControlTruth.FirstOf(
            s.EventsDiff(Vm, Qemu),
            ControlTruth.Diff("qemu_block_jobs_finished_total", outcomes, s.SeriesOf(Vm, "qemu_block_jobs_finished_total")),
            ControlTruth.Diff("qemu_block_job_errors_total", errors, s.SeriesOf(Vm, "qemu_block_job_errors_total")),
            more?.Invoke(s)));
        RealQemuAssert.EventsMatchControl(scrape, Vm, Qemu);
        return scrape;
    }

    /// <summary>Null when the job's offset and len gauges equal the control's final BLOCK_JOB_COMPLETED/_CANCELLED.</summary>
    public string? FinalProgressDiff(Scrape scrape, string job, string type)
    {
        var final = Qemu.FinalJobEvent(job);
        var offset = scrape.Job(Vm, "qemu_block_job_offset_bytes", job, type);
        var len = scrape.Job(Vm, "qemu_block_job_len_bytes", job, type);
        return offset == final.Long("offset") && len == final.Long("len")
            ? null
            : $"job {job}: offset/len {offset}/{len} != the control's {final.Name} {final.Long("offset")}/{final.Long("len")}";
    }

    public ValueTask DisposeAsync() => rig.DisposeAsync();
}
