using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime;
using System.Text;

namespace QmpExporter.Benchmarks;

/// <summary>The three scenarios; each runs in its own process (see <see cref="Cli"/>) so peak RSS and heap are its own.</summary>
internal static class Scenarios
{
    /// <summary>OpenTelemetry.Exporter.Prometheus.AspNetCore's default response cache (300 ms) plus a margin.</summary>
    private static readonly TimeSpan ScrapeCacheTime = TimeSpan.FromMilliseconds(320);

    private static double Seconds(long from, long to) => (double)(to - from) / Stopwatch.Frequency;

    private static string Mb(long bytes) => $"{bytes / 1048576.0:0.0} MB";

    /// <summary>
    /// (a) One connection, N events: events/s, allocated bytes per event, peak RSS. Runs <c>--rounds</c> fresh
    /// connections one after the other (each VM added, flooded, counted, removed) and reports the best and the median.
    /// </summary>
    public static async Task<int> OneConnectionAsync(Options o)
    {
        var n = o.Events;
        var rounds = Math.Max(1, o.Rounds);
        using var dir = TempDir.Create();
        using var server = await ServerProcess.StartAsync(dir.Path,
            new FakeQemu.Group("raw", 1, n), new FakeQemu.Group("ref", 1, n), new FakeQemu.Group("cold", 1, n),
            new FakeQemu.Group("warm", 1, Math.Max(1, o.Warmup)), new FakeQemu.Group("vm", rounds, n));

        // The wire ceiling: the same fake QEMU stream into a client that only counts newlines.
        var ceiling = await RawDrainAsync(FakeQemu.SocketPath(dir.Path, "raw", 0), n, parse: false);
        Report.Row("a", "wire ceiling (raw socket reader)", $"{ceiling / 1e6:0.00} M events/s", $"{EventMix.Shared.MeanLineBytes:0} B/event on the wire; fake QEMU + kernel, not the exporter");

        // The in-house reference peer: the same stream read with a plain Utf8JsonReader loop over every token of every line.
        var reference = await RawDrainAsync(FakeQemu.SocketPath(dir.Path, "ref", 0), n, parse: true);
        Report.Row("a", "reference: Utf8JsonReader loop", $"{reference / 1e6:0.00} M events/s", "frames lines and reads every token, no mapping, no metrics; the figures below are also given as a ratio to it");
        string Ratio(double rate) => $"{rate / reference:0.00} x the reference";

        // A daemon runs for months: warm the JIT (tiered compilation, PGO) on another VM first, then measure fresh ones.
        await using var exporter = await ExporterUnderTest.StartAsync([], o.ExporterArgs, mutableVmList: true);
        if (o.Cold)
        {
            // The first flood after start, before any warm-up: what a freshly (re)started daemon does.
            var cold = new Expectation("cold0", EventMix.Shared.OffsetFor(0), n);
            await exporter.SetExtraVmsAsync([("cold0", FakeQemu.SocketPath(dir.Path, "cold", 0))]).ConfigureAwait(false);
            var coldProgress = await Task.Factory.StartNew(
                () => Counting.WaitAll(exporter.Registry, [cold], TimeSpan.FromSeconds(120), TimeSpan.FromMilliseconds(1), snapshotAtFirstEvent: true),
                TaskCreationOptions.LongRunning).ConfigureAwait(false);
            if (!server.WaitForFloods(["cold0"], TimeSpan.FromSeconds(10)) || coldProgress.Missing.Count > 0 || !server.Floods.TryGetValue("cold0", out var coldFlood)
                || !Counting.Verify(exporter.Registry, [cold]).Exact)
            {
                Report.Row("a", "events/s, cold", "FAILED", "the cold flood timed out or was not counted exactly");
                return 1;
            }

            var coldRate = n / Seconds(coldFlood.FirstTimestamp, coldProgress.Done);
            Report.Row("a", "events/s, cold (first flood after start)", $"{coldRate / 1e6:0.00} M events/s", $"{Ratio(coldRate)}; no warm-up; {(System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported ? "JIT" : "NativeAOT")} build");
            await exporter.SetExtraVmsAsync([]).ConfigureAwait(false);
        }

        if (o.Warmup > 0)
        {
            var warm = new Expectation("warm0", EventMix.Shared.OffsetFor(0), o.Warmup);
            await exporter.SetExtraVmsAsync([("warm0", FakeQemu.SocketPath(dir.Path, "warm", 0))]).ConfigureAwait(false);
            var warmProgress = Counting.WaitAll(exporter.Registry, [warm], TimeSpan.FromSeconds(120), TimeSpan.FromMilliseconds(1), false);
            server.WaitForFloods(["warm0"], TimeSpan.FromSeconds(10));
            if (server.Floods.TryGetValue("warm0", out var warmFlood))
            {
                Report.Note($"warm-up: {o.Warmup:N0} events on another connection at {o.Warmup / Seconds(warmFlood.FirstTimestamp, warmProgress.Done) / 1e6:0.00} M events/s (cold JIT, not a result)");
            }

            await exporter.SetExtraVmsAsync([]).ConfigureAwait(false);
            await Task.Delay(1000).ConfigureAwait(false); // let tiered compilation install its tier-1 code
        }

        var deferred = new List<string[]>();
        var results = new List<(double Rate, double Alloc, double Cpu, double LagMs, string Commands, Counting.Check Check)>();
        for (var round = 0; round < rounds; round++)
        {
            var vm = $"vm{round}";
            using var sampler = o.AllocProfile && round == rounds - 1 ? new AllocationSampler() : null;
            sampler?.Start();
            var expectation = new Expectation(vm, EventMix.Shared.OffsetFor(round), n);
            await exporter.SetExtraVmsAsync([(vm, FakeQemu.SocketPath(dir.Path, "vm", round))]).ConfigureAwait(false);
            var progress = await Task.Factory.StartNew(
                () => Counting.WaitAll(exporter.Registry, [expectation], TimeSpan.FromSeconds(120), TimeSpan.FromMilliseconds(1), snapshotAtFirstEvent: true),
                TaskCreationOptions.LongRunning).ConfigureAwait(false);
            sampler?.Stop();
            sampler?.Dispose();
            foreach (var (type, bytes, share) in sampler?.Top(15) ?? [])
            {
                Report.Note($"alloc sample: {share,6:P1} {type}");
            }

            var check = Counting.Verify(exporter.Registry, [expectation]);
            if (!server.WaitForFloods([vm], TimeSpan.FromSeconds(10)) || progress.Missing.Count > 0 || !server.Floods.TryGetValue(vm, out var flood))
            {
                Report.Row("a", "events counted", check.Summary, $"FAILED (round {round + 1}: timeout)");
                return 1;
            }

            var seconds = Seconds(flood.FirstTimestamp, progress.Done);
            var measured = n - progress.CountedAtFirst;
            var result = (Rate: n / seconds, Alloc: (double)(progress.AllocatedAtDone - progress.AllocatedAtFirst) / measured,
                Cpu: (progress.CpuAtDone - progress.CpuAtFirst).TotalNanoseconds / measured, LagMs: Seconds(flood.LastTimestamp, progress.Done) * 1000, flood.Commands, Check: check);
            results.Add(result);
            Report.Note($"round {round + 1}: {result.Rate / 1e6:0.00} M events/s, {result.Alloc:0.0} B/event, {result.Cpu:0} ns CPU/event, {(check.Exact ? "all counted exactly" : "MISMATCH")}");
            if (round == rounds - 1)
            {
                var scrape = await exporter.ScrapeAsync().ConfigureAwait(false);
                var scraped = ExporterUnderTest.SumSamples(scrape, "qmp_events_total", vm);
                var consistency = ExporterUnderTest.CompareWithRegistry(scrape, exporter.Registry);
                deferred.Add(["a", "qmp_events_total via /metrics", $"{scraped:N0}", scraped == n ? $"equals events sent (last round, {vm})" : "DIFFERS from events sent"]);
                deferred.Add(["a", "/metrics vs registry", consistency.Same ? "same" : "DIFFERS", consistency.Summary]);
                if (scraped != n)
                {
                    return 1;
                }
            }

            await exporter.SetExtraVmsAsync([]).ConfigureAwait(false);
        }

        var peak = Proc.PeakRss;
        var byRate = results.OrderBy(r => r.Rate).ToList();
        var median = byRate[byRate.Count / 2];
        var best = byRate[^1];
        var allExact = results.All(r => r.Check.Exact);
        Report.Row("a", "events/s, 1 connection (best)", $"{best.Rate / 1e6:0.00} M events/s", $"{Ratio(best.Rate)}; {n:N0} events, first sent -> last counted, warm");
        Report.Row("a", "events/s, 1 connection (median)", $"{median.Rate / 1e6:0.00} M events/s", $"{Ratio(median.Rate)}; of {rounds} rounds: {string.Join(" / ", results.Select(r => $"{r.Rate / 1e6:0.00}"))}");
        Report.Row("a", "events counted", allExact ? $"{n:N0} / {n:N0} exact x {rounds}" : "MISMATCH", results[^1].Check.Summary);
        foreach (var row in deferred)
        {
            Report.Row(row[0], row[1], row[2], row[3]);
        }

        Report.Row("a", "allocated per event (median)", $"{results.Select(r => r.Alloc).Order().ElementAt(rounds / 2):0.0} B", "GC.GetTotalAllocatedBytes(true) delta / events; exporter process only (fake QEMU is another process)");
        Report.Row("a", "exporter CPU per event (median)", $"{results.Select(r => r.Cpu).Order().ElementAt(rounds / 2):0} ns", $"process CPU time, all threads (read loop, session, GC, Kestrel) / events; wall {1e9 / median.Rate:0} ns");
        Report.Row("a", "sender done -> last counted", $"{median.LagMs:0.0} ms", "~0: the fake QEMU was held back by the socket, i.e. the exporter is the bottleneck");
        Report.Row("a", "QMP commands during a flood", $"{median.Commands.Split(',').Sum(c => int.Parse(c.Split('=')[1], System.Globalization.CultureInfo.InvariantCulture)):N0}", median.Commands);

        var (parse, dispatch) = Splits.Measure(500_000);
        Report.Row("a", "split: QmpMessage.Parse", $"{parse.NsPerEvent:0} ns", $"{parse.BytesPerEvent:0.0} B/event; one thread, no socket, the same lines");
        Report.Row("a", "split: Parse + EventMappings.Dispatch", $"{dispatch.NsPerEvent:0} ns", $"{dispatch.BytesPerEvent:0.0} B/event; counting + mappings into a VmContext (NullLogger, queries only requested)");
        if (o.AllocProfile)
        {
            foreach (var (name, share, cost) in Splits.ByEventName(50_000).OrderByDescending(x => x.Share * x.Cost.NsPerEvent))
            {
                Report.Note($"split by event: {name,-22} {share,6:P1} of the mix  {cost.NsPerEvent,6:0} ns  {cost.BytesPerEvent,7:0.0} B/event");
            }
        }

        Report.Row("a", "peak RSS (VmHWM)", Mb(peak), "exporter process incl. ASP.NET Core host, after all rounds");
        return allExact ? 0 : 1;
    }

    /// <summary>(b) Many connections, each with its own slice of the mix: total events/s and peak RSS, all counted.</summary>
    public static async Task<int> ManyConnectionsAsync(Options o)
    {
        var connections = o.Connections;
        var perConnection = o.PerConnection;
        var total = connections * perConnection;
        Report.Row("b", "open files limit", Proc.OpenFilesLimit(), $"needs ~{connections + 100} here and ~{2 * connections + 50} in the fake QEMU");
        if (Proc.OpenFilesSoftLimit() < connections + 256)
        {
            Console.Error.WriteLine($"warning: the open files limit is low for {connections} connections; raise it (ulimit -n)");
        }

        using var dir = TempDir.Create();
        using var server = await ServerProcess.StartAsync(dir.Path, new FakeQemu.Group("vm", connections, perConnection));
        var expectations = Enumerable.Range(0, connections)
            .Select(i => new Expectation($"vm{i}", EventMix.Shared.OffsetFor(i), perConnection)).ToList();
        var started = Stopwatch.GetTimestamp();
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        await using var exporter = await ExporterUnderTest.StartAsync(
            Enumerable.Range(0, connections).Select(i => ($"vm{i}", FakeQemu.SocketPath(dir.Path, "vm", i))), o.ExporterArgs);
        var progress = await Task.Factory.StartNew(
            () => Counting.WaitAll(exporter.Registry, expectations, TimeSpan.FromSeconds(120), TimeSpan.FromMilliseconds(2), snapshotAtFirstEvent: false),
            TaskCreationOptions.LongRunning).ConfigureAwait(false);
        var peak = Proc.PeakRss;
        var allReported = server.WaitForFloods(expectations.Select(e => e.Vm), TimeSpan.FromSeconds(10));
        var check = Counting.Verify(exporter.Registry, expectations);
        if (!allReported || progress.Missing.Count > 0)
        {
            Report.Row("b", "events counted", check.Summary, $"FAILED (timeout; {progress.Missing.Count} VMs incomplete)");
            return 1;
        }

        var floods = expectations.Select(e => server.Floods[e.Vm]).ToList();
        var firstSent = floods.Min(f => f.FirstTimestamp);
        var lastFirst = floods.Max(f => f.FirstTimestamp);
        var seconds = Seconds(firstSent, progress.Done);
        Report.Row("b", $"events/s, {connections} connections", $"{total / seconds / 1e6:0.00} M events/s", $"{total:N0} events in {seconds * 1000:0} ms (first sent on any -> last counted on all)");
        Report.Row("b", "events counted", check.Exact ? $"{check.Counted:N0} / {check.Expected:N0} exact" : "MISMATCH", check.Summary);
        Report.Row("b", "connect spread", $"{Seconds(firstSent, lastFirst) * 1000:0} ms", $"first flood start -> last flood start; exporter start -> first flood {Seconds(started, firstSent) * 1000:0} ms");
        var commands = floods.Sum(f => f.Commands.Split(',').Sum(c => int.Parse(c.Split('=')[1], System.Globalization.CultureInfo.InvariantCulture)));
        Report.Row("b", "QMP commands until floods ended", $"{commands:N0}", $"{(double)commands / connections:0.0} per VM: a flood of {perConnection:N0} is sent before the session's first state query");
        var consistency = ExporterUnderTest.CompareWithRegistry(await exporter.ScrapeAsync().ConfigureAwait(false), exporter.Registry);
        Report.Row("b", "/metrics vs registry", consistency.Same ? "same" : "DIFFERS", consistency.Summary);
        Report.Row("b", "allocated per event", $"{(double)(progress.AllocatedAtDone - allocatedBefore) / total:0.0} B", $"incl. host start and {connections} session setups");
        Report.Row("b", "peak RSS (VmHWM)", Mb(peak), $"{connections} sessions");
        var settled = Proc.SettledMemory();
        Report.Row("b", "heap / RSS after full GC", $"{Mb(settled.Heap)} / {Mb(settled.Rss)}", $"{connections} live VMs, {exporter.Registry.Vms.Sum(v => (long)v.SeriesCount):N0} series");
        return check.Exact ? 0 : 1;
    }

    /// <summary>
    /// (c) Churn: residents stay, waves of transient VMs connect, get events, are scraped and removed again through the
    /// VM list (VmSupervisor.ReloadAsync). Memory after all waves versus the same live set before any churn ("cold")
    /// and after <c>--warm-waves</c> waves ("warm": the JIT, the thread pool and the buffer pools have seen churn).
    /// </summary>
    public static async Task<int> ChurnAsync(Options o)
    {
        using var pools = new PoolAccounting(o.PoolStacks);
        using var dir = TempDir.Create();
        var perVm = o.EventsPerVm;
        using var server = await ServerProcess.StartAsync(dir.Path, new FakeQemu.Group("r", o.Residents, perVm), new FakeQemu.Group("c", o.WaveSize, perVm));
        var residents = Enumerable.Range(0, o.Residents).Select(i => new Expectation($"r{i}", EventMix.Shared.OffsetFor(i), perVm)).ToList();
        await using var exporter = await ExporterUnderTest.StartAsync(
            Enumerable.Range(0, o.Residents).Select(i => ($"r{i}", FakeQemu.SocketPath(dir.Path, "r", i))), o.ExporterArgs, mutableVmList: true);
        var progress = Counting.WaitAll(exporter.Registry, residents, TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(2), false);
        if (progress.Missing.Count > 0)
        {
            Report.Row("c", "residents counted", Counting.Verify(exporter.Registry, residents).Summary, "FAILED (timeout)");
            return 1;
        }

        var cold = await MeasureAsync("cold").ConfigureAwait(false);
        var liveSeries = exporter.Registry.Vms.Sum(v => (long)v.SeriesCount);

        var lastScrape = Stopwatch.GetTimestamp();
        long transientEvents = 0, scrapeBytes = 0;
        var allExact = true;
        string? firstProblem = null;
        var totalWaves = o.WarmWaves + o.Waves;
        for (var wave = 0; wave < o.WarmWaves; wave++)
        {
            await WaveAsync(wave).ConfigureAwait(false);
        }

        var warm = await MeasureAsync("warm").ConfigureAwait(false);
        var churnStart = Stopwatch.GetTimestamp();
        for (var wave = o.WarmWaves; wave < totalWaves; wave++)
        {
            await WaveAsync(wave).ConfigureAwait(false);
            if ((wave + 1 - o.WarmWaves) % Math.Max(1, o.Waves / 5) == 0)
            {
                Report.Note($"after wave {wave + 1}: heap {Mb(GC.GetTotalMemory(false))} (no forced GC), RSS {Mb(Proc.Rss)}, registry {exporter.Registry.Vms.Count} VMs, provider rebuilds {exporter.MetricsEndpoint?.Rebuilds.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "n/a"}");
            }
        }

        var churnSeconds = Seconds(churnStart, Stopwatch.GetTimestamp());
        var churned = await MeasureAsync("churned").ConfigureAwait(false);
        foreach (var (stack, count, bytes) in pools.TopAllocators(12))
        {
            Report.Note($"pool allocations: {count,4} = {Mb(bytes),9}  {stack}");
        }

        var residentsCheck = Counting.Verify(exporter.Registry, residents);
        Report.Row("c", "GC", Proc.GcConfiguration(), $"the daemon's runtimeconfig{(o.CompactLoh ? "; LOH compacted at every point (--compact-loh)" : "")}");
        Report.Row("c", "VMs come and gone", $"{totalWaves * o.WaveSize:N0}", $"{o.WarmWaves} + {o.Waves} waves x {o.WaveSize}, {perVm} events each ({transientEvents:N0} counted{(allExact ? ", all exact" : ", NOT exact: " + firstProblem)}); last {o.Waves} waves {churnSeconds:0.0} s; 2 scrapes/wave ({scrapeBytes / 1048576.0:0} MB)");
        Report.Row("c", "live set", $"{o.Residents} VMs", $"{exporter.Registry.Vms.Count} in registry at the end, {exporter.Registry.Vms.Sum(v => (long)v.SeriesCount):N0} series (steady: {liveSeries:N0}); residents {(residentsCheck.Exact ? "exact" : "MISMATCH")}");
        Report.Row("c", "points", "cold -> warm -> churned", $"cold: before any churn; warm: after {o.WarmWaves * o.WaveSize:N0} VMs came and went; churned: after {totalWaves * o.WaveSize:N0}; each after 2 scrapes and full compacting GCs");
        Row("heap after full GC", m => m.Memory.Heap, "GC.GetTotalMemory(true)", target: false);
        Row("  held by ArrayPool.Shared", m => m.Pooled, "pooled arrays, from ArrayPool's events (cached buffers, not live data)", target: false);
        Row("heap less pooled arrays", m => m.Memory.Heap - m.Pooled, "what the exporter itself keeps", target: true);
        Report.Row("c", "  retired series in the provider", $"{cold.Retired:N0} -> {warm.Retired:N0} -> {churned.Retired:N0}",
            "series of removed VMs the OpenTelemetry provider still holds (VmRegistry.RetiredSeries): MetricsEndpoint replaces the provider only once they reach 1,024 and the live series");
        Row("RSS", m => m.Memory.Rss, "VmRSS after the full GCs", target: true);
        Row("  after aggressive GC + malloc_trim", m => m.Memory.RssTrimmed, "without the free memory the GC and malloc keep committed", target: false);
        Row("  GC committed", m => m.Memory.Committed, "GCMemoryInfo.TotalCommittedBytes (live + free regions kept)", target: false);
        Report.Row("c", "MeterProvider rebuilds", exporter.MetricsEndpoint?.Rebuilds.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "n/a", "MetricsEndpoint.Rebuilds (first build included)");
        Report.Row("c", "peak RSS (VmHWM)", Mb(Proc.PeakRss), "");

        return allExact && residentsCheck.Exact ? 0 : 1;

        void Row(string figure, Func<(Proc.Settled Memory, long Pooled, long Retired), long> value, string what, bool target)
        {
            var (c, w, x) = (value(cold), value(warm), value(churned));
            var vsCold = (double)x / c;
            var vsWarm = (double)x / w;
            var verdict = target ? $" (target <= 1.10: {(vsCold <= 1.10 ? "met" : "NOT met")} vs cold, {(vsWarm <= 1.10 ? "met" : "NOT met")} vs warm)" : "";
            Report.Row("c", figure, $"{Mb(c)} -> {Mb(w)} -> {Mb(x)}", $"churned/cold {vsCold:0.00}, churned/warm {vsWarm:0.00}{verdict}; {what}");
        }

        async Task<(Proc.Settled Memory, long Pooled, long Retired)> MeasureAsync(string point)
        {
            // The same state at every point: two scrapes of the live set (the first may see the last wave's removal).
            for (var i = 0; i < 2; i++)
            {
                await Task.Delay(ScrapeCacheTime).ConfigureAwait(false);
                await exporter.ScrapeBytesAsync().ConfigureAwait(false);
            }

            lastScrape = Stopwatch.GetTimestamp();
            var memory = Proc.SettledMemory(o.CompactLoh, aggressive: true);
            var pooled = pools.Held();
            var retired = exporter.Registry.RetiredSeries;
            Report.Note($"{point}: {exporter.Registry.Vms.Count} VMs, {retired:N0} retired series still in the metrics provider, {Describe(memory)}");
            Report.Note($"{point}: ArrayPool.Shared holds {Mb(pooled.Bytes)}: {pooled.Detail}; arrays the pools allocated / dropped (full) / trimmed so far: {pools.Traffic}");
            await HeapDumps.AtPointAsync(o, $"c-{point}").ConfigureAwait(false);
            return (memory, pooled.Bytes, retired);
        }

        async Task WaveAsync(int wave)
        {
            var transients = Enumerable.Range(0, o.WaveSize).Select(i => new Expectation($"w{wave}-c{i}", EventMix.Shared.OffsetFor(i), perVm)).ToList();
            await exporter.SetExtraVmsAsync(Enumerable.Range(0, o.WaveSize).Select(i => (transients[i].Vm, FakeQemu.SocketPath(dir.Path, "c", i)))).ConfigureAwait(false);
            var waveProgress = Counting.WaitAll(exporter.Registry, transients, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(1), false);
            var check = Counting.Verify(exporter.Registry, transients);
            transientEvents += check.Counted;
            if (waveProgress.Missing.Count > 0 || !check.Exact)
            {
                allExact = false;
                firstProblem ??= $"wave {wave}: {check.Summary}";
            }

            // The Prometheus exporter serves a cached response for 300 ms (ScrapeResponseCacheDurationMilliseconds):
            // wait that out so this scrape really collects the wave's series.
            var sinceScrape = Stopwatch.GetElapsedTime(lastScrape);
            if (sinceScrape < ScrapeCacheTime)
            {
                await Task.Delay(ScrapeCacheTime - sinceScrape).ConfigureAwait(false);
            }

            if (wave == totalWaves - 1)
            {
                var peakScrape = await exporter.ScrapeAsync().ConfigureAwait(false);
                scrapeBytes += System.Text.Encoding.UTF8.GetByteCount(peakScrape);
                var consistency = ExporterUnderTest.CompareWithRegistry(peakScrape, exporter.Registry);
                Report.Row("c", "/metrics vs registry, last wave", consistency.Same ? "same" : "DIFFERS", consistency.Summary);
            }
            else
            {
                scrapeBytes += await exporter.ScrapeBytesAsync().ConfigureAwait(false);
            }

            lastScrape = Stopwatch.GetTimestamp();
            await exporter.SetExtraVmsAsync([]).ConfigureAwait(false);
            scrapeBytes += await exporter.ScrapeBytesAsync().ConfigureAwait(false);
            lastScrape = Stopwatch.GetTimestamp();
        }
    }

    private static string Describe(Proc.Settled m) =>
        $"heap {Mb(m.Heap)}, RSS {Mb(m.Rss)} (anon {Mb(m.RssAnon)}, file {Mb(m.RssFile)}), GC committed {Mb(m.Committed)} (fragmentation {Mb(m.Fragmented)}, LOH {Mb(m.LohAfter)}), {m.Threads} threads; " +
        $"after an aggressive GC: RSS {Mb(m.RssAggressive)}, GC committed {Mb(m.CommittedAggressive)}, malloc in use {Mb(m.Malloc.InUse)} + free {Mb(m.Malloc.Free)}; after malloc_trim(0): RSS {Mb(m.RssTrimmed)}";

    /// <summary>Reads the fake QEMU's stream with nothing but a newline count: the rate the sender and the kernel allow.</summary>
    /// <summary>Reads the stream of one socket: counting newlines only, or (<paramref name="parse"/>) every JSON token of every line.</summary>
    private static async Task<double> RawDrainAsync(string path, long events, bool parse)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(path)).ConfigureAwait(false);
        var buffer = new byte[256 * 1024];
        long lines = 0;
        long expectedLines = 2 + events; // greeting, capabilities reply, events
        var sentCapabilities = false;
        var start = 0L;
        var carried = 0; // bytes of an incomplete line kept at the start of the buffer
        long tokens = 0;
        while (lines < expectedLines)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(carried), SocketFlags.None).ConfigureAwait(false);
            if (n == 0)
            {
                throw new InvalidOperationException("the fake QEMU closed the raw connection early");
            }

            if (parse)
            {
                (var complete, carried, tokens) = ReadLines(buffer.AsSpan(0, carried + n), tokens);
                lines += complete;
            }
            else
            {
                lines += buffer.AsSpan(0, n).Count((byte)'\n');
            }
            if (!sentCapabilities && lines >= 1)
            {
                sentCapabilities = true;
                start = Stopwatch.GetTimestamp();
                await socket.SendAsync(Encoding.UTF8.GetBytes("{\"execute\": \"qmp_capabilities\", \"id\": 1}\n"), SocketFlags.None).ConfigureAwait(false);
            }
        }

        GC.KeepAlive(tokens);
        return events / Seconds(start, Stopwatch.GetTimestamp());
    }

    /// <summary>Reads each complete line with a Utf8JsonReader; moves the incomplete rest to the buffer's start.</summary>
    private static (int Lines, int Carried, long Tokens) ReadLines(Span<byte> bytes, long tokens)
    {
        var lines = 0;
        var rest = bytes;
        while (rest.IndexOf((byte)'\n') is var end and >= 0)
        {
            var reader = new System.Text.Json.Utf8JsonReader(rest[..end]);
            while (reader.Read())
            {
                tokens++;
            }

            lines++;
            rest = rest[(end + 1)..];
        }

        rest.CopyTo(bytes);
        return (lines, rest.Length, tokens);
    }
}

internal sealed class TempDir : IDisposable
{
    private TempDir(string path) => Path = path;

    public string Path { get; }

    /// <summary>A fresh directory under /tmp with a short name: unix socket paths must stay under 108 bytes.</summary>
    public static TempDir Create() => new(Directory.CreateTempSubdirectory("qmpb-").FullName);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
