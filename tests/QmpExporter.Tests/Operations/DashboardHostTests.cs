using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Operations;

/// <summary>
/// The dashboard's Host variable is the node under the Helm chart, not the pod IP.
/// </summary>
public sealed class DashboardHostTests
{
    [Fact]
    public async Task The_host_variable_is_the_node_name_that_the_charts_ServiceMonitor_puts_in_instance()
    {
        var variable = DashboardQueries.Load().GetProperty("templating").GetProperty("list").EnumerateArray().Single(v => v.GetProperty("name").GetString() == "instance");
        Assert.Equal("Host", variable.GetProperty("label").GetString());

        var monitor = await ExternalTool.RunCheckedAsync("helm", ["template", "t", Repository.ChartDir, "--show-only", "templates/servicemonitor.yaml", "--set", "serviceMonitor.enabled=true"]);
        Assert.Matches(@"- sourceLabels:\s*\n\s*- __meta_kubernetes_pod_node_name\s*\n\s*targetLabel: instance", monitor.StdOut);
    }
}
