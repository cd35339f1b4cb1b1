using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Deploy;

/// <summary>Where the deploy checks find the shipped deploy files, and their scratch folders.</summary>
internal static class DeployPaths
{
    public static string ChartDir => Repository.Path("deploy", "helm", "qmp-exporter");

    public static string SystemdDir => Repository.Path("deploy", "systemd");

    /// <summary>A fresh directory under /tmp (short: unix socket paths are limited to 108 bytes).</summary>
    public static string CreateTempDirectory(string prefix) =>
        Directory.CreateTempSubdirectory($"qmpx-{prefix}-").FullName;
}
