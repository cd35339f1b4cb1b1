using System.Text.Json;
using QmpExporter.Tests.Operations;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Deploy;

/// <summary>
/// deploy/helm/qmp-exporter: `helm lint --strict` and `helm template` for the defaults and every ci/*-values.yaml,
/// every rendered object validated offline against the Kubernetes and prometheus-operator schemas
/// (tools/validate-k8s.mjs), and the PrometheusRule's rules equal to grafana/alerts, their one source.
/// </summary>
public sealed class HelmChartTests : IDisposable
{
    private const string Defaults = "(defaults)";
    private const string RulesSource = "grafana/alerts/qmp-exporter.rules.yml";

    private readonly string temp = ScratchDir.CreateTempDirectory("helm");

    /// <summary>The defaults (no -f) and each ci/*-values.yaml, by file name.</summary>
    public static TheoryData<string> ValuesFiles() => new(ValuesFileNames());

    private static IEnumerable<string> ValuesFileNames() =>
        Directory.GetFiles(Path.Combine(Repository.ChartDir, "ci"), "*-values.yaml")
            .Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).Prepend(Defaults);

    public void Dispose() => Directory.Delete(temp, recursive: true);

    [Fact]
    public void Ci_has_the_default_monitoring_and_custom_socket_scenarios()
    {
        var files = ValuesFileNames().ToList();

        Assert.Contains("default-values.yaml", files);
        Assert.Contains("monitoring-values.yaml", files);
        Assert.Contains("sockets-values.yaml", files);
    }

    [Fact]
    public async Task The_libvirt_option_passes_the_uri_and_mounts_libvirts_socket_directory()
    {
        var rendered = await File.ReadAllTextAsync(await RenderAsync("libvirt-values.yaml"));
        var defaults = await File.ReadAllTextAsync(await RenderAsync(Defaults));

        Assert.Contains("- --libvirt\n            - \"qemu:///system\"", rendered, StringComparison.Ordinal);
        Assert.Contains("- name: libvirt-sockets\n              mountPath: /run/libvirt\n              readOnly: true", rendered, StringComparison.Ordinal);
        Assert.Contains("- name: libvirt-sockets\n          hostPath:\n            path: /run/libvirt", rendered, StringComparison.Ordinal);
        Assert.DoesNotContain("libvirt", defaults, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public async Task Lint_strict_passes(string values)
    {
        var result = await ExternalTool.RunCheckedAsync("helm", ["lint", "--strict", Repository.ChartDir, .. ValuesArguments(values)]);

        Assert.Contains("1 chart(s) linted, 0 chart(s) failed", result.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain("[WARNING]", result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("[ERROR]", result.Output, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public async Task Rendered_objects_validate_against_the_Kubernetes_and_prometheus_operator_schemas(string values)
    {
        var rendered = await RenderAsync(values);
        var rulesOut = Path.Combine(temp, "rules.yml");
        var monitoring = values == "monitoring-values.yaml";
        List<string> arguments = [Repository.Path("tools", "validate-k8s.mjs"), rendered];
        if (monitoring)
        {
            arguments.InsertRange(1, ["--rules-source", Repository.Path(RulesSource), "--rules-out", rulesOut]);
        }

        var result = await ExternalTool.RunCheckedAsync("node", arguments);

        Assert.Contains(", 0 findings", result.StdOut, StringComparison.Ordinal);
        Assert.Contains("kind: DaemonSet", await File.ReadAllTextAsync(rendered), StringComparison.Ordinal);
        if (monitoring)
        {
            Assert.Contains("schema ok: monitoring.coreos.com/v1 ServiceMonitor/", result.StdOut, StringComparison.Ordinal);
            Assert.Contains("rules ok: PrometheusRule/", result.StdOut, StringComparison.Ordinal);
            var promtool = await ExternalTool.RunCheckedAsync("promtool", ["check", "rules", rulesOut]);
            Assert.Contains("SUCCESS", promtool.Output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Chart_rule_file_is_in_sync_with_grafana_alerts()
    {
        Assert.True(File.Exists(Repository.Path(RulesSource)), $"{RulesSource} is missing: it is the source of the chart's rules");

        await ExternalTool.RunCheckedAsync(Repository.Path("scripts", "sync-chart-files.sh"), ["--check"]);
    }

    [Fact]
    public async Task Each_pod_gets_the_VMs_of_its_node_and_the_shared_ones()
    {
        var data = await RenderConfigMapAsync("sockets-values.yaml");

        Assert.Equal(["web1", "legacy"], VmNames(data["appsettings.json"]));
        Assert.Equal(["web1", "legacy", "db1"], VmNames(data["appsettings.hv1.json"]));
        Assert.Equal(["web1", "legacy", "db2", "build1"], VmNames(data["appsettings.hv2.example.com.json"]));
        Assert.Equal(3, data.Count);
    }

    [Theory]
    [InlineData("unknownKey=1", "additional properties 'unknownKey' not allowed")]
    [InlineData("serviceMonitor.intervall=1m", "additional properties 'intervall' not allowed")]
    [InlineData("vms[0].name=a,vms[0].socket=/tmp/a.qmp", "is not under qmp.socketHostPath")]
    [InlineData("vms[0].name=a,vms[0].socket=/run/qemu/a.qmp,vms[1].name=a,vms[1].socket=/run/qemu/b.qmp", "is used twice")]
    public async Task Bad_values_fail_with_a_message(string set, string message)
    {
        var result = await ExternalTool.RunAsync("helm", ["template", "t", Repository.ChartDir, "--set", set]);

        Assert.True(result.ExitCode != 0 && result.StdErr.Contains(message, StringComparison.Ordinal), $"expected a failure saying '{message}':\n{result}");
    }

    /// <summary>The chart's ConfigMap for <paramref name="values"/>, rendered by helm.</summary>
    internal static async Task<Dictionary<string, string>> RenderConfigMapAsync(string values)
    {
        var rendered = await ExternalTool.RunCheckedAsync("helm", ["template", "t", Repository.ChartDir, "--show-only", "templates/configmap.yaml", .. ValuesArguments(values)]);
        return Yaml.Parse(rendered.StdOut).GetProperty("data").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
    }

    private static string[] ValuesArguments(string values) =>
        values == Defaults ? [] : ["-f", Path.Combine(Repository.ChartDir, "ci", values)];

    private static List<string> VmNames(string appsettings)
    {
        using var document = JsonDocument.Parse(appsettings);
        return document.RootElement.GetProperty("QmpExporter").GetProperty("Vms").EnumerateArray().Select(vm => vm.GetProperty("Name").GetString()!).ToList();
    }

    private async Task<string> RenderAsync(string values)
    {
        var result = await ExternalTool.RunCheckedAsync("helm", ["template", "qmp", Repository.ChartDir, "--namespace", "monitoring", .. ValuesArguments(values)]);
        var file = Path.Combine(temp, "rendered.yaml");
        await File.WriteAllTextAsync(file, result.StdOut);
        return file;
    }
}
