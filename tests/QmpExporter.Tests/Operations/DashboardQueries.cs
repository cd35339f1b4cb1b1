using System.Text.Json;
using System.Text.RegularExpressions;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Operations;

/// <summary>One PromQL target of a dashboard panel.</summary>
internal sealed partial record PanelQuery(int PanelId, string Panel, string RefId, string Expr)
{
    /// <summary>
    /// The expression as Grafana would send it: <c>$__rate_interval</c>, <c>$__interval</c> and <c>$__range</c> become
    /// <paramref name="interval"/>, dashboard variables (<c>$job</c>, <c>${vm}</c>, <c>${vm:regex}</c>) their values.
    /// An unknown variable throws: the test must know every variable a panel uses.
    /// </summary>
    public string Substitute(IReadOnlyDictionary<string, string> variables, string interval) =>
        Variable().Replace(Expr, m =>
        {
            var name = m.Groups["name"].Value;
            if (name is "__rate_interval" or "__interval" or "__range")
            {
                return interval;
            }

            return variables.TryGetValue(name, out var value)
                ? value
                : throw new InvalidOperationException($"panel {PanelId} '{Panel}' uses the variable ${name}, which the test does not substitute");
        });

    public override string ToString() => $"panel {PanelId} '{Panel}' {RefId}: {Expr}";

    [GeneratedRegex(@"\$(?:\{(?<name>\w+)(?::\w+)?\}|(?<name>\w+))")]
    private static partial Regex Variable();
}

internal static class DashboardQueries
{
    public static JsonElement Load()
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(Repository.DashboardFile));
        return document.RootElement.Clone();
    }

    /// <summary>Every panel, rows' nested panels included.</summary>
    public static IEnumerable<JsonElement> Panels(JsonElement dashboard)
    {
        foreach (var panel in dashboard.GetProperty("panels").EnumerateArray())
        {
            yield return panel;
            if (panel.TryGetProperty("panels", out var nested))
            {
                foreach (var inner in nested.EnumerateArray())
                {
                    yield return inner;
                }
            }
        }
    }

    public static IReadOnlyList<PanelQuery> All(JsonElement dashboard) =>
        [.. Panels(dashboard)
            .Where(p => p.TryGetProperty("targets", out _))
            .SelectMany(p => p.GetProperty("targets").EnumerateArray().Select(t => new PanelQuery(
                p.GetProperty("id").GetInt32(),
                p.GetProperty("title").GetString() ?? "",
                t.GetProperty("refId").GetString() ?? "",
                t.GetProperty("expr").GetString() ?? "")))];
}
