using System.Text.Json;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Deploy;

/// <summary>
/// The chart's options for running the exporter as node-exporter's chart runs it: an image digest, the node's network,
/// extra arguments and volumes (a web config Secret, say), pods rolled on a settings change, the ServiceMonitor's job
/// label and scheme, and a default that starts on nodes without the socket directory.
/// </summary>
public sealed class HelmChartOptionsTests : IDisposable
{
    private const string Digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    private readonly string temp = ScratchDir.CreateTempDirectory("chart");

    public void Dispose() => Directory.Delete(temp, recursive: true);

    [Fact]
    public async Task An_image_digest_replaces_the_tag()
    {
        using var daemonSet = await RenderAsync("daemonset", "--set", $"image.digest={Digest}");

        Assert.Equal($"ghcr.io/qmp-exporter/qmp-exporter@{Digest}", Container(daemonSet).GetProperty("image").GetString());
    }

    [Fact]
    public async Task By_default_a_pod_starts_on_a_node_without_the_socket_directory_and_uses_the_pod_network()
    {
        using var daemonSet = await RenderAsync("daemonset");

        var pod = PodSpec(daemonSet);
        var sockets = pod.GetProperty("volumes").EnumerateArray().Single(v => v.GetProperty("name").GetString() == "qmp-sockets");
        Assert.Equal("DirectoryOrCreate", sockets.GetProperty("hostPath").GetProperty("type").GetString());
        Assert.False(pod.TryGetProperty("hostNetwork", out _));
    }

    [Fact]
    public async Task The_sockets_scenario_reaches_the_hosts_loopback_through_the_host_network_and_passes_extra_args()
    {
        using var daemonSet = await RenderAsync("daemonset", "-f", Path.Combine(Repository.ChartDir, "ci", "sockets-values.yaml"));

        var pod = PodSpec(daemonSet);
        Assert.True(pod.GetProperty("hostNetwork").GetBoolean());
        Assert.Equal("ClusterFirstWithHostNet", pod.GetProperty("dnsPolicy").GetString());
        var args = Container(daemonSet).GetProperty("args").EnumerateArray().Select(a => a.GetString()).ToList();
        Assert.Equal(["--contentRoot", "/etc/qmp-exporter", "--urls", "http://*:9719", "--log.format", "json"], args);
    }

    [Fact]
    public async Task Extra_volumes_and_mounts_carry_a_web_config_secret()
    {
        using var daemonSet = await RenderAsync(
            "daemonset",
            "--set-json", """extraVolumes=[{"name":"web","secret":{"secretName":"qmp-web"}}]""",
            "--set-json", """extraVolumeMounts=[{"name":"web","mountPath":"/etc/qmp-exporter-web","readOnly":true}]""",
            "--set-json", """extraArgs=["--web.config.file","/etc/qmp-exporter-web/web.yml"]""",
            "--set", "service.scheme=https");

        Assert.Contains(PodSpec(daemonSet).GetProperty("volumes").EnumerateArray(), v => v.GetProperty("name").GetString() == "web" && v.GetProperty("secret").GetProperty("secretName").GetString() == "qmp-web");
        Assert.Contains(Container(daemonSet).GetProperty("volumeMounts").EnumerateArray(), m => m.GetProperty("mountPath").GetString() == "/etc/qmp-exporter-web");
        var args = Container(daemonSet).GetProperty("args").EnumerateArray().Select(a => a.GetString()).ToList();
        Assert.Equal(["--contentRoot", "/etc/qmp-exporter", "--urls", "https://*:9719", "--web.config.file", "/etc/qmp-exporter-web/web.yml"], args);
    }

    [Fact]
    public async Task A_settings_change_changes_the_pods_config_checksum_so_they_roll()
    {
        using var before = await RenderAsync("daemonset");
        using var same = await RenderAsync("daemonset");
        using var after = await RenderAsync("daemonset", "--set", "settings.MaxSeriesPerVm=64");

        Assert.Matches("^[0-9a-f]{64}$", Checksum(before));
        Assert.Equal(Checksum(before), Checksum(same));
        Assert.NotEqual(Checksum(before), Checksum(after));
    }

    [Fact]
    public async Task The_ServiceMonitor_takes_a_job_label_and_the_scheme()
    {
        using var monitor = await RenderAsync("servicemonitor", "--set", "serviceMonitor.enabled=true", "--set", "serviceMonitor.jobLabel=app.kubernetes.io/name", "--set", "service.scheme=https");

        Assert.Equal("app.kubernetes.io/name", monitor.RootElement.GetProperty("spec").GetProperty("jobLabel").GetString());
        Assert.Equal("https", monitor.RootElement.GetProperty("spec").GetProperty("endpoints")[0].GetProperty("scheme").GetString());
    }

    private static JsonElement PodSpec(JsonDocument daemonSet) => daemonSet.RootElement.GetProperty("spec").GetProperty("template").GetProperty("spec");

    private static JsonElement Container(JsonDocument daemonSet) => PodSpec(daemonSet).GetProperty("containers")[0];

    private static string? Checksum(JsonDocument daemonSet) =>
        daemonSet.RootElement.GetProperty("spec").GetProperty("template").GetProperty("metadata").GetProperty("annotations").GetProperty("checksum/config").GetString();

    /// <summary>One template of the chart, rendered by helm and read through js-yaml.</summary>
    private async Task<JsonDocument> RenderAsync(string template, params string[] values)
    {
        var rendered = await ExternalTool.RunCheckedAsync("helm", ["template", "t", Repository.ChartDir, "--show-only", $"templates/{template}.yaml", .. values]);
        var file = Path.Combine(temp, $"{template}-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, rendered.StdOut);
        var json = await ExternalTool.RunCheckedAsync(Repository.Path("tools", "node_modules", ".bin", "js-yaml"), [file]);
        return JsonDocument.Parse(json.StdOut);
    }
}
