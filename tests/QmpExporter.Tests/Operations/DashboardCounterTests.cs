using System.Text.RegularExpressions;
using QmpExporter.Tests.Deploy;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Operations;

/// <summary>
/// Counters on the dashboard are shown as what happened in a window (increase/rate), never as raw totals that reset
/// with the exporter; the Host variable is the node under the Helm chart, not the pod IP.
/// </summary>
public sealed partial class DashboardCounterTests
{
    [Fact]
    public void Every_counter_on_the_dashboard_goes_through_increase_or_rate()
    {
        var raw = new List<string>();
        foreach (var query in DashboardQueries.All(DashboardQueries.Load()))
        {
            foreach (Match counter in Counter().Matches(query.Expr))
            {
                var before = query.Expr[..counter.Index];
                var after = query.Expr[(counter.Index + counter.Length)..];
                if (!(before.EndsWith("increase(", StringComparison.Ordinal) || before.EndsWith("rate(", StringComparison.Ordinal)) || !after.StartsWith('['))
                {
                    raw.Add($"{query}: {counter.Value} shown raw");
                }
            }
        }

        Assert.True(raw.Count == 0, string.Join('\n', raw));
    }

    [Fact]
    public async Task The_host_variable_is_the_node_name_that_the_charts_ServiceMonitor_puts_in_instance()
    {
        var variable = DashboardQueries.Load().GetProperty("templating").GetProperty("list").EnumerateArray().Single(v => v.GetProperty("name").GetString() == "instance");
        Assert.Equal("Host", variable.GetProperty("label").GetString());

        var monitor = await ExternalTool.RunCheckedAsync("helm", ["template", "t", DeployPaths.ChartDir, "--show-only", "templates/servicemonitor.yaml", "--set", "serviceMonitor.enabled=true"]);
        Assert.Matches(@"- sourceLabels:\s*\n\s*- __meta_kubernetes_pod_node_name\s*\n\s*targetLabel: instance", monitor.StdOut);
    }

    [GeneratedRegex(@"\b(qmp|qemu)_\w+_total(\{[^}]*\})?")]
    private static partial Regex Counter();
}
