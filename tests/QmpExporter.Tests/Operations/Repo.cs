using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Operations;

/// <summary>Paths of the operator kit in the repository.</summary>
internal static class Repo
{
    public const string RunbookBase = "https://github.com/qmp-exporter/qmp-exporter/blob/main/docs/runbooks/";

    public static string RulesFile => Repository.Path("grafana", "alerts", "qmp-exporter.rules.yml");

    public static string RulesTestFile => Repository.Path("grafana", "alerts", "tests", "qmp-exporter.rules.test.yml");

    public static string DashboardFile => Repository.Path("grafana", "dashboards", "qmp-exporter.json");

    public static string AlertmanagerFile => Repository.Path("deploy", "alertmanager", "alertmanager.example.yml");

    public static string RunbookFile(string alert) => Repository.Path("docs", "runbooks", alert + ".md");
}
