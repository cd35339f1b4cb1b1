using Xunit.Sdk;

namespace QmpExporter.Tests.Support;

/// <summary>The repository the tests run from: the first folder above the test binaries holding QmpExporter.sln.</summary>
internal static class Repository
{
    private static readonly Lazy<string> RootDir = new(FindRoot);

    /// <summary>The repository root.</summary>
    public static string Root => RootDir.Value;

    /// <summary>A path inside the repository, e.g. <c>Repository.Path("deploy", "systemd")</c>.</summary>
    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    public const string RunbookBase = "https://github.com/qmp-exporter/qmp-exporter/blob/main/docs/runbooks/";

    public static string RulesFile => Path("grafana", "alerts", "qmp-exporter.rules.yml");

    public static string RulesTestFile => Path("grafana", "alerts", "tests", "qmp-exporter.rules.test.yml");

    public static string DashboardFile => Path("grafana", "dashboards", "qmp-exporter.json");

    public static string AlertmanagerFile => Path("deploy", "alertmanager", "alertmanager.example.yml");

    public static string ChartDir => Path("deploy", "helm", "qmp-exporter");

    public static string SystemdDir => Path("deploy", "systemd");

    public static string RunbookFile(string alert) => Path("docs", "runbooks", alert + ".md");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "QmpExporter.sln")))
            {
                return dir.FullName;
            }
        }

        throw new XunitException($"no QmpExporter.sln above {AppContext.BaseDirectory}: run the tests from the repository");
    }
}
