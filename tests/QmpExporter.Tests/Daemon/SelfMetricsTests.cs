using System.Diagnostics;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Daemon;

/// <summary>The exporter's metrics about itself: build_info with version, revision and .NET, and the process_* family.</summary>
public sealed class SelfMetricsTests
{
    [Fact]
    public async Task Build_info_names_the_version_the_git_revision_and_the_dotnet_runtime()
    {
        await using var exporter = await ExporterHost.StartAsync();
        var scrape = await exporter.ScrapeAsync();

        var series = Assert.Single(scrape.Samples.Keys, k => k.StartsWith("qmp_exporter_build_info{", StringComparison.Ordinal));
        Assert.Matches(@"revision=""[0-9a-f]{40}""", series);
        Assert.Contains($"dotnet=\"{Environment.Version}\"", series, StringComparison.Ordinal);
        Assert.Matches(@"version=""\d+\.\d+\.\d+[^""+]*""", series);
        Assert.Equal(1, scrape.Samples[series]);
    }

    [Fact]
    public async Task The_process_family_reports_this_process()
    {
        await using var exporter = await ExporterHost.StartAsync();
        using var self = Process.GetCurrentProcess();
        var scrape = await exporter.ScrapeAsync();

        var start = new DateTimeOffset(self.StartTime.ToUniversalTime()).ToUnixTimeMilliseconds() / 1000.0;
        Assert.InRange(scrape.Value("process_start_time_seconds")!.Value, start - 1, start + 1);
        Assert.InRange(scrape.Value("process_cpu_seconds_total")!.Value, 0.01, self.TotalProcessorTime.TotalSeconds + 1);
        Assert.InRange(scrape.Value("process_resident_memory_bytes")!.Value, 10e6, 10e9);
        Assert.True(scrape.Value("process_virtual_memory_bytes") >= scrape.Value("process_resident_memory_bytes"));
        var open = scrape.Value("process_open_fds")!.Value;
        Assert.InRange(open, 3, scrape.Value("process_max_fds")!.Value);
        Assert.InRange(open, Directory.GetFileSystemEntries("/proc/self/fd").Length - 50, Directory.GetFileSystemEntries("/proc/self/fd").Length + 50);
        Assert.Contains("# TYPE process_cpu_seconds_total counter", scrape.Text, StringComparison.Ordinal);
    }
}
