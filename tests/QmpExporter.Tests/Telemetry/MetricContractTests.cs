using QmpExporter.Mappings;
using QmpExporter.Telemetry;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Telemetry;

/// <summary>The metric names and labels are a contract with dashboards and alert rules: the README documents each exactly.</summary>
public sealed class MetricContractTests
{
    public static TheoryData<string> Families => [.. EventMappings.Catalog.Select(f => f.Name)];

    [Theory]
    [MemberData(nameof(Families))]
    public void Readme_documents_the_metric_with_its_exact_labels(string name)
    {
        var family = EventMappings.Catalog.Single(f => f.Name == name);
        var kind = family.Kind == MetricKind.Counter ? "counter" : "gauge";
        var labels = string.Join(", ", ["vm", .. family.Labels]);

        Assert.Contains($"| `{name}` | {kind} | {labels} |", File.ReadAllText(Repository.Path("README.md")));
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
