using System.Text;
using QmpExporter.Libvirt;
using QmpExporter.Mappings;
using QmpExporter.Telemetry;

namespace QmpExporter.Tests.Telemetry;

/// <summary>
/// README's Metrics table, rendered from the catalog: one row per family, in catalog order, then the exporter's own
/// metrics (not per VM): the build info, process, libvirt connection and failure counters.
/// </summary>
internal static class MetricTable
{
    public const string FileName = "metric-table.md";
    public const string Begin = "<!-- metric table: generated from the catalog by scripts/update-metric-table.sh -->";
    public const string End = "<!-- end of the metric table -->";

    public static string Render()
    {
        var table = new StringBuilder().Append(Begin).Append('\n')
            .Append("| metric | type | labels | meaning |\n")
            .Append("|---|---|---|---|\n");
        foreach (var family in EventMappings.Catalog)
        {
            Row(table, family.Name, family.Kind switch { MetricKind.Counter => "counter", MetricKind.Histogram => "histogram", _ => "gauge" }, ["vm", .. family.Labels], family.Help);
        }

        Row(table, ExporterMetrics.BuildInfoName, "gauge", ["version", "revision", "dotnet"], ExporterMetrics.BuildInfoHelp);
        foreach (var (name, type, help) in ProcessMetrics.Families)
        {
            Row(table, name, type, [], help);
        }

        Row(table, LibvirtSource.UpMetric, "gauge", ["uri"], LibvirtSource.UpHelp);
        foreach (var (name, help, _) in ExporterHealth.Counters)
        {
            Row(table, name, "counter", [], help);
        }

        return table.Append(End).Append('\n').ToString();
    }

    /// <summary>The table as README has it, markers included; "" when the markers are missing.</summary>
    public static string Extract(string readme)
    {
        var begin = readme.IndexOf(Begin, StringComparison.Ordinal);
        var end = readme.IndexOf(End, StringComparison.Ordinal);
        return begin < 0 || end < begin ? "" : readme[begin..(end + End.Length)] + "\n";
    }

    private static void Row(StringBuilder table, string name, string type, string[] labels, string help) =>
        table.Append(System.Globalization.CultureInfo.InvariantCulture, $"| `{name}` | {type} | {string.Join(", ", labels)} | {help.Replace("|", "\\|", StringComparison.Ordinal)} |\n");
}
