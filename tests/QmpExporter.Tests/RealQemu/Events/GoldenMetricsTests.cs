using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using QmpExporter.Libvirt;
using QmpExporter.Tests.Support;
using Xunit.Sdk;

namespace QmpExporter.Tests.RealQemu.Events;

/// <summary>
/// One real-QEMU run through a representative set of events, scraped as Prometheus text: promtool accepts it, and the
/// text equals metrics.golden.txt beside this file line for line (HELP, TYPE, label values, values), except what
/// <see cref="Masks"/> lists as varying from run to run. The test never writes the golden file: it writes what it got
/// to metrics.actual.txt beside the test assembly, and scripts/update-golden.sh copies that over the golden file
/// for a reviewer to read the diff.
/// </summary>
public sealed partial class GoldenMetricsTests
{
    private const string GoldenName = "metrics.golden.txt";
    private const string Varies = "<varies>";

    /// <summary>The libvirt source's own families: a socket session never has them (the RealLibvirt tests read them).</summary>
    private static readonly string[] LibvirtOnly = [BlockNodeInfo.Info.Name, LibvirtSource.UpMetric];

    /// <summary>
    /// All that differs between two runs of the same scenario, each with why; everything else must match exactly.
    /// A mask replaces the sample value or a label value of the series it matches with <see cref="Varies"/>.
    /// </summary>
    private static readonly (Regex Series, string? Label, string Why)[] Masks =
    [
        (new(@"^qmp_last_event_timestamp_seconds\{"), null, "QEMU's wall-clock time of the last event"),
        (new(@"^qmp_exporter_build_info\{"), "version", "the exporter's version"),
        (new(@"^qmp_exporter_build_info\{"), "revision", "the git commit of the build"),
        (new(@"^qmp_exporter_build_info\{"), "dotnet", "the .NET runtime installed"),
        (new(@"^process_"), null, "the test process's CPU time, memory, file descriptors, limits and start time"),
        (new(@"^qemu_info\{"), "version", "the QEMU version installed"),
        (new(@"^qemu_info\{"), "package", "the QEMU package installed"),
        (new(@"^qemu_info\{"), "pid", "the QEMU process's id"),
        (new(@"^qemu_block_job_errors_total\{"), null, "a mirror onto a failing target fails as many writes as it had in flight"),
        (new(@"^qmp_events_total\{event=""BLOCK_JOB_ERROR"""), null, "the same writes in flight, counted as events"),
        (new(@"^qemu_block_job_offset_bytes\{job=""job-fail"""), null, "where the failing mirror had got to when its first write failed"),
        (new(@"^qemu_migration_(ram|disk|throughput|expected)_\w+\{"), null, "a migration's progress depends on when the exporter polled it"),
        (new(@"^qemu_migration_(duration|downtime|setup)_seconds_(bucket|sum)\{"), null, "a migration's times, and so the buckets they fall in"),
        (new(@"^qmp_series_dropped_total\{"), null, "one per query-blockstats poll that met the cap: the run's duration"),
    ];
    [Fact]
    public async Task A_scrape_after_a_representative_run_passes_promtool_and_has_the_golden_series()
    {
        ExternalTool.Find("promtool");
        BlkdebugRule[] diskRules = [new("read_aio", BlkdebugRule.Eio, "read", 1), new("write_aio", BlkdebugRule.Eio, "write", 1)];
        var options = new QemuVmOptions
        {
            // int13 read and write of LBA 1 (errors: report, ignore), a pvpanic (pause), then ACPI S5 (-no-shutdown keeps QEMU).
            BootSector = BootSector.Create(flags: BootSector.Read | BootSector.Write | BootSector.Panic | BootSector.Acpi),
            AttachBootImage = false,
            Args =
            [
                "-S", "-no-shutdown", "-device", "pvpanic", "-action", "panic=pause",
                "-blockdev", QemuRecipes.BlkdebugJson("disk0", "{dir}/boot.img", diskRules),
                "-device", "ide-hd,drive=disk0,id=ide0,bus=ide.0,unit=0,rerror=report,werror=ignore",
                "-device", "ide-cd,id=cd0,bus=ide.1,unit=0",
            ],
        };

        // MaxSeriesPerVm=2: the drive's four failed-operation counters overflow, so qmp_series_dropped_total shows too.
        await using var rig = await QemuRig.StartAsync("golden", options, async scratch =>
        {
            await QemuRecipes.CreateJobImagesAsync(scratch.Root);
            await QemuRecipes.CreateQuorumImagesAsync(scratch.Root, "q");
            return
            [
                .. QemuRecipes.JobTopArgs(scratch.Root),
                .. await JobRig.FailingTargetAsync(scratch, "tgt", new BlkdebugRule("write_aio", BlkdebugRule.Eio)),
                "-blockdev", QemuRecipes.QuorumJson("quorum0", scratch.Root, "q", "qchild", failingChild: 1),
            ];
        }, exporterArgs: [JobRig.FastPolling, "--QmpExporter:BlockStatsInterval=00:00:00.200", "--QmpExporter:MaxSeriesPerVm=2"]);
        var (qemu, exporter, a) = (rig.Qemu, rig.Exporter, rig.Vm);

        await qemu.ExecuteAsync("cont");
        await qemu.ControlEvents.WaitForAsync("GUEST_PANICKED");
        await qemu.ControlEvents.WaitForAsync("STOP");
        await exporter.WaitForAsync(s => s.Of(a, "qemu_vm_status", ("status", "guest-panicked")) == 1, "the exporter saw the panic's run state");
        await qemu.ExecuteAsync("blockdev-open-tray", """{"id": "cd0"}""");
        await qemu.ExecuteAsync("dump-guest-memory", """{"paging": false, "protocol": "file:/dev/null", "detach": true}""");
        await qemu.ControlEvents.WaitForAsync("DUMP_COMPLETED");
        await qemu.ExecuteAsync("block-stream", """{"job-id": "job-stream", "device": "top"}""");
        await qemu.WaitForJobStatusAsync("job-stream", "null");
        await qemu.ExecuteAsync("block-set-write-threshold", """{"node-name": "top", "write-threshold": 1048576}""");
        await qemu.HmpAsync("qemu-io top \"write 1048576 65536\"");
        await qemu.ControlEvents.WaitForAsync("BLOCK_WRITE_THRESHOLD");
        await qemu.ExecuteAsync("block-set-write-threshold", """{"node-name": "top", "write-threshold": 67108864}""");
        await exporter.WaitForAsync(s => s.Of(a, "qemu_block_write_threshold_bytes", ("node_name", "top")) == 67108864, "the exporter polled the new threshold");
        await qemu.ExecuteAsync("blockdev-mirror", """{"job-id": "job-fail", "device": "top", "target": "tgt", "sync": "full", "on-target-error": "report"}""");
        await qemu.WaitForJobStatusAsync("job-fail", "null");
        await qemu.HmpAsync("qemu-io quorum0 \"read 0 4k\"");
        await qemu.ControlEvents.WaitForAsync("QUORUM_FAILURE");
        await qemu.PrepareMigrationAsync(maxBandwidth: 1 << 20);
        await qemu.ExecuteAsync("migrate", """{"uri": "exec:exit 1"}""");
        await qemu.WaitForMigrationAsync("failed");

        // A migration let go to complete once the exporter has polled it running.
        await qemu.ExecuteAsync("migrate", """{"uri": "exec:cat > /dev/null"}""");
        await exporter.WaitForAsync(s => s.Of(a, "qemu_migration_status", ("status", "active")) == 1 && s.Of(a, "qemu_migration_expected_downtime_seconds") is not null,
            "the exporter polled the running migration");
        await qemu.ExecuteAsync("migrate-set-parameters", """{"max-bandwidth": 1073741824}""");
        await qemu.WaitForMigrationAsync("completed", TimeSpan.FromSeconds(60));
        await qemu.ExecuteAsync("cont");
        await qemu.ControlEvents.WaitForAsync("SHUTDOWN");

        // The run states the exporter has seen are series too: it must have seen this one before the reset.
        await exporter.WaitForAsync(s => s.Of(a, "qemu_vm_status", ("status", "shutdown")) == 1, "the exporter saw the shutdown run state");
        await qemu.ExecuteAsync("system_reset");
        await qemu.ControlEvents.WaitForAsync("RESET");

        var status = (await qemu.ExecuteAsync("query-status")).GetProperty("status").GetString()!;
        var scrape = await exporter.SettleAsync("the exporter caught up with the run", s => ControlTruth.FirstOf(
            s.EventsDiff(a, qemu),
            s.Of(a, "qemu_vm_status", ("status", status)) == 1 ? null : $"qemu_vm_status{{status=\"{status}\"}} is not 1",
            s.SeriesOf(a, "qmp_series_dropped_total").Count > 0 ? null : "nothing dropped yet",
            s.SeriesOf(a, "qemu_vm_status").Values.Sum() == 1 ? null : "no run state"));
        RealQemuAssert.EventsMatchControl(scrape, a, qemu);

        Assert.DoesNotContain("target_info", scrape.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("otel_scope", scrape.Text, StringComparison.Ordinal);
        var sample = Normalize(scrape.Text, a);
        var check = await ExternalTool.RunAsync("promtool", ["check", "metrics"], stdin: sample);
        Assert.True(check.ExitCode == 0 && check.Output.Length == 0, $"promtool check metrics rejected the scrape (exit {check.ExitCode}):\n{check.Output}\n--- sample ---\n{sample}");
        var raw = await ExternalTool.RunAsync("promtool", ["check", "metrics"], stdin: scrape.Text);
        Assert.True(raw.ExitCode == 0, $"promtool check metrics rejected the raw scrape (exit {raw.ExitCode}):\n{raw.Output}");

        var actual = Mask(sample);
        var actualPath = Path.Combine(AppContext.BaseDirectory, "metrics.actual.txt");
        await File.WriteAllTextAsync(actualPath, actual);
        var goldenPath = Path.Combine(SourceDir(), GoldenName);
        Assert.True(File.Exists(goldenPath), $"{goldenPath} is missing: scripts/update-golden.sh writes it");
        var golden = await File.ReadAllTextAsync(goldenPath);
        Assert.True(golden == actual,
            $"/metrics differs from {GoldenName} (- golden, + this run; all of it in {actualPath}; scripts/update-golden.sh " +
            $"takes it when the change is intended):\n{LineDiff(golden, actual)}");

        AssertDocumentedInReadme(sample);
    }

    /// <summary>
    /// The scrape cut down to this run's VM (other tests' exporters share the meter name, see RealQemuAssert) and the
    /// series without a <c>vm</c> label; the VM name becomes <c>vm</c>, timestamps 0, samples sorted within a family.
    /// </summary>
    private static string Normalize(string text, string vm)
    {
        var families = new List<(string Name, List<string> Header, List<string> Samples)>();
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith("# HELP ", StringComparison.Ordinal) || line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var name = line.Split(' ')[2];
                if (families.Count == 0 || families[^1].Name != name)
                {
                    families.Add((name, [], []));
                }

                families[^1].Header.Add(line);
            }
            else if (line.Length > 0 && line[0] != '#' && families.Count > 0)
            {
                var labels = line.IndexOf('{', StringComparison.Ordinal) is var brace and >= 0 ? line[brace..(line.LastIndexOf('}') + 1)] : "";
                var owner = Scrape.Labels(labels).GetValueOrDefault("vm");
                if (owner == vm || owner is null)
                {
                    var sample = line.Replace($"vm=\"{vm}\"", "vm=\"vm\"", StringComparison.Ordinal);
                    if (sample.StartsWith("qmp_last_event_timestamp_seconds", StringComparison.Ordinal))
                    {
                        sample = sample[..(sample.LastIndexOf(' ') + 1)] + "0";
                    }

                    families[^1].Samples.Add(sample);
                }
            }
        }

        var normalized = new StringBuilder();
        foreach (var (_, header, samples) in families.Where(f => f.Samples.Count > 0))
        {
            header.ForEach(h => normalized.Append(h).Append('\n'));
            samples.Order(StringComparer.Ordinal).ToList().ForEach(s => normalized.Append(s).Append('\n'));
        }

        return normalized.ToString();
    }

    /// <summary>Applies <see cref="Masks"/> to every sample line.</summary>
    private static string Mask(string sample)
    {
        var lines = sample.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            foreach (var (series, label, _) in Masks.Where(m => m.Series.IsMatch(lines[i])))
            {
                lines[i] = label is null
                    ? lines[i][..(lines[i].LastIndexOf(' ') + 1)] + Varies
                    : Regex.Replace(lines[i], $@"\b{label}=""(?:[^""\\]|\\.)*""", $"{label}=\"{Varies}\"");
            }
        }

        return string.Join('\n', lines);
    }

    /// <summary>The lines only in one of the two texts, in order: enough to read what changed.</summary>
    private static string LineDiff(string golden, string actual)
    {
        var expected = golden.Split('\n');
        var got = actual.Split('\n');
        return string.Join('\n', expected.Except(got, StringComparer.Ordinal).Select(l => "- " + l)
            .Concat(got.Except(expected, StringComparer.Ordinal).Select(l => "+ " + l)));
    }

    /// <summary>The set of series shapes of a sample: <c>name{label,keys}</c>, sorted.</summary>
    private static SortedSet<string> SeriesShapes(string text)
    {
        var shapes = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var brace = line.IndexOf('{', StringComparison.Ordinal);
            var name = brace < 0 ? line[..line.IndexOf(' ', StringComparison.Ordinal)] : line[..brace];
            var keys = brace < 0 ? [] : Scrape.Labels(line[brace..(line.LastIndexOf('}') + 1)]).Keys.Order(StringComparer.Ordinal).ToArray();
            shapes.Add($"{name}{{{string.Join(',', keys)}}}");
        }

        return shapes;
    }

    /// <summary>Every family in the sample is a row of README's Metrics table with the same type and labels, and every row is in the sample.</summary>
    private static void AssertDocumentedInReadme(string sample)
    {
        var readme = File.ReadAllText(Repository.Path("README.md"));
        var documented = new Dictionary<string, (string Type, string Labels)>(StringComparer.Ordinal);
        foreach (Match row in MetricRow().Matches(readme))
        {
            documented[row.Groups[1].Value] = (row.Groups[2].Value, string.Join(',', row.Groups[3].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal)));
        }

        Assert.NotEmpty(documented);
        var served = new Dictionary<string, (string Type, string Labels)>(StringComparer.Ordinal);
        foreach (Match type in TypeLine().Matches(sample))
        {
            var series = type.Groups[2].Value == "histogram" ? type.Groups[1].Value + "_count" : type.Groups[1].Value;
            var shape = SeriesShapes(sample).First(s => s.StartsWith(series + "{", StringComparison.Ordinal));
            served[type.Groups[1].Value] = (type.Groups[2].Value, shape[(shape.IndexOf('{', StringComparison.Ordinal) + 1)..^1]);
        }

        var problems = served.Where(f => !documented.TryGetValue(f.Key, out var doc) || doc != f.Value)
            .Select(f => $"{f.Key} served as {f.Value.Type} {{{f.Value.Labels}}}, README says {(documented.TryGetValue(f.Key, out var d) ? $"{d.Type} {{{d.Labels}}}" : "nothing")}")
            .Concat(documented.Keys.Except(served.Keys).Except(LibvirtOnly).Except(NotInTheRun).Select(m => $"{m} is documented but not in the sample"))
            .ToList();
        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    /// <summary>
    /// Documented families the run does not produce: a block migration's disk figures (unit-tested from QEMU's
    /// query-migrate example).
    /// </summary>
    private static readonly string[] NotInTheRun = ["qemu_migration_disk_transferred_bytes", "qemu_migration_disk_remaining_bytes", "qemu_migration_disk_total_bytes"];

    private static string SourceDir() => Repository.Path("tests", "QmpExporter.Tests", "RealQemu", "Events");

    [GeneratedRegex(@"^\| `([a-z_]+)` \| (counter|gauge|histogram) \| ([a-z_, ]*) \|", RegexOptions.Multiline)]
    private static partial Regex MetricRow();

    [GeneratedRegex(@"^# TYPE (\S+) (\S+)$", RegexOptions.Multiline)]
    private static partial Regex TypeLine();
}
