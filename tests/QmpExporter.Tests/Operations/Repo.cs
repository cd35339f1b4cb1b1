namespace QmpExporter.Tests.Operations;

/// <summary>Paths of the operator kit, found from the repository root (the folder holding QmpExporter.sln).</summary>
internal static class Repo
{
    public const string RunbookBase = "https://github.com/qmp-exporter/qmp-exporter/blob/main/docs/runbooks/";

    public static string Root { get; } = FindRoot();

    public static string RulesFile => Path.Combine(Root, "grafana", "alerts", "qmp-exporter.rules.yml");

    public static string RulesTestFile => Path.Combine(Root, "grafana", "alerts", "tests", "qmp-exporter.rules.test.yml");

    public static string DashboardFile => Path.Combine(Root, "grafana", "dashboards", "qmp-exporter.json");

    public static string AlertmanagerFile => Path.Combine(Root, "deploy", "alertmanager", "alertmanager.example.yml");

    public static string RunbookFile(string alert) => Path.Combine(Root, "docs", "runbooks", alert + ".md");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "QmpExporter.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no QmpExporter.sln above {AppContext.BaseDirectory}: run the tests from the repository");
    }
}
