using QmpExporter.Mappings;
using QmpExporter.Telemetry;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Telemetry;

/// <summary>
/// The metric names and labels are a contract with dashboards and alert rules, documented by README's Metrics table,
/// which is generated from the catalog: <see cref="MetricTable"/> renders it beside the test assembly, and
/// scripts/update-metric-table.sh puts that into README.
/// </summary>
public sealed class MetricContractTests
{
    [Fact]
    public void Readme_metric_table_is_the_one_generated_from_the_catalog()
    {
        var table = MetricTable.Render();
        File.WriteAllText(System.IO.Path.Combine(AppContext.BaseDirectory, MetricTable.FileName), table);

        var documented = MetricTable.Extract(File.ReadAllText(Repository.Path("README.md")));

        Assert.True(documented == table,
            $"README's metric table is stale: run scripts/update-metric-table.sh.\n--- README ---\n{documented}\n--- catalog ---\n{table}");
    }

    [Fact]
    public void A_label_name_the_family_lacks_or_a_label_left_unset_fails_at_once()
    {
        var series = EventMappings.Catalog.Single(f => f.Name == "qemu_block_job_offset_bytes").With("job", "job0");
        var registry = new VmRegistry(EventMappings.Catalog);

        Assert.Throws<ArgumentException>(() => series.With("device", "drive0"));
        Assert.Throws<ArgumentException>(() => series.With("job", "job1"));
        Assert.Throws<InvalidOperationException>(() => registry.GetOrAdd("vm").Set(series, 1));
        registry.GetOrAdd("vm").Set(series.With("type", "mirror"), 1);
        Assert.Equal(1, registry.GetOrAdd("vm").Get(series.With("type", "mirror")));
    }

    [Fact]
    public void Every_seed_is_a_complete_series_of_its_family()
    {
        foreach (var family in EventMappings.Catalog)
        {
            Assert.All(family.Seeds, seed => Assert.True(seed.Family == family && seed.IsComplete, family.Name));
        }
    }

    [Fact]
    public void Names_follow_prometheus_conventions()
    {
        foreach (var family in EventMappings.Catalog)
        {
            Assert.Matches("^(qmp|qemu)_[a-z_]+$", family.Name);
            Assert.Equal(family.Kind == MetricKind.Counter, family.Name.EndsWith("_total", StringComparison.Ordinal));
            Assert.DoesNotContain("vm", family.Labels);
            Assert.True(family.Labels.Length <= SeriesKey.MaxLabels, family.Name);
            Assert.False(string.IsNullOrWhiteSpace(family.Help), family.Name);
        }

        Assert.Equal(EventMappings.Catalog.Count, EventMappings.Catalog.Select(f => f.Name).Distinct().Count());
    }
}
