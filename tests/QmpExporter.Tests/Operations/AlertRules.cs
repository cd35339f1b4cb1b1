using System.Text.Json;
using System.Text.RegularExpressions;
using QmpExporter.Libvirt;
using QmpExporter.Mappings;
using QmpExporter.Telemetry;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Operations;

/// <summary>One alerting rule of grafana/alerts/qmp-exporter.rules.yml.</summary>
internal sealed record AlertRule(string Name, string Expr, string? For, IReadOnlyDictionary<string, string> Labels, IReadOnlyDictionary<string, string> Annotations)
{
    public override string ToString() => Name;
}

internal static partial class AlertRules
{
    public static async Task<IReadOnlyList<AlertRule>> LoadAsync()
    {
        var root = await Yaml.LoadAsync(Repository.RulesFile);
        var rules = new List<AlertRule>();
        foreach (var group in root.GetProperty("groups").EnumerateArray())
        {
            foreach (var rule in group.GetProperty("rules").EnumerateArray())
            {
                if (!rule.TryGetProperty("alert", out var alert))
                {
                    continue;
                }

                rules.Add(new AlertRule(
                    alert.GetString()!,
                    rule.GetProperty("expr").GetString()!,
                    rule.TryGetProperty("for", out var forValue) ? forValue.ToString() : null,
                    Strings(rule, "labels"),
                    Strings(rule, "annotations")));
            }
        }

        return rules;
    }

    /// <summary>Every qmp_/qemu_ name in an expression that is not a metric the exporter serves.</summary>
    public static IEnumerable<string> UnknownMetrics(string expr)
    {
        var known = EventMappings.Catalog.Select(f => f.Name).Append(ExporterMetrics.BuildInfoName).Append(LibvirtSource.UpMetric).ToHashSet(StringComparer.Ordinal);
        return MetricName().Matches(expr).Select(m => m.Value).Where(name => !known.Contains(name)).Distinct();
    }

    private static Dictionary<string, string> Strings(JsonElement rule, string property)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        if (rule.TryGetProperty(property, out var values))
        {
            foreach (var value in values.EnumerateObject())
            {
                map[value.Name] = value.Value.ToString();
            }
        }

        return map;
    }

    [GeneratedRegex(@"\b(?:qmp|qemu)_[a-z0-9_]+\b")]
    private static partial Regex MetricName();
}
