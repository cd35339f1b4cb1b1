using System.Text.Json;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Operations;

/// <summary>grafana/alerts: the rules parse (promtool check rules), behave as their unit tests say (promtool test rules),
/// and every alert is complete: severity, summary, description, a runbook page, a firing and a silent test case.</summary>
public sealed class AlertRulesTests
{
    private static readonly string[] Severities = ["critical", "warning", "info"];

    [Fact]
    public async Task Promtool_check_rules_accepts_the_rules_file()
    {
        var rules = await AlertRules.LoadAsync();
        var result = await ExternalTool.RunCheckedAsync("promtool", ["check", "rules", Repository.RulesFile]);

        Assert.True(result.Output.Contains($"SUCCESS: {rules.Count} rules found", StringComparison.Ordinal), result.ToString());
    }

    [Fact]
    public async Task Promtool_test_rules_passes_every_case()
    {
        var result = await ExternalTool.RunCheckedAsync("promtool", ["test", "rules", Repository.RulesTestFile]);

        Assert.True(result.Output.Contains("SUCCESS", StringComparison.Ordinal), result.ToString());
    }

    [Fact]
    public async Task Every_alert_has_severity_summary_description_and_a_runbook_page()
    {
        var rules = await AlertRules.LoadAsync();
        Assert.NotEmpty(rules);
        var problems = new List<string>();
        foreach (var rule in rules)
        {
            if (!rule.Labels.TryGetValue("severity", out var severity) || !Severities.Contains(severity))
            {
                problems.Add($"{rule}: labels.severity must be one of {string.Join(", ", Severities)}");
            }

            foreach (var annotation in (string[])["summary", "description"])
            {
                if (!rule.Annotations.TryGetValue(annotation, out var text) || (!text.Contains("$labels.vm", StringComparison.Ordinal) && !text.Contains("$labels.instance", StringComparison.Ordinal)))
                {
                    problems.Add($"{rule}: annotations.{annotation} must exist and name the VM or host ($labels.vm / $labels.instance)");
                }
            }

            var expectedUrl = Repository.RunbookBase + rule.Name + ".md";
            if (!rule.Annotations.TryGetValue("runbook_url", out var url) || url != expectedUrl)
            {
                problems.Add($"{rule}: annotations.runbook_url must be {expectedUrl}, is '{url}'");
            }

            var runbook = Repository.RunbookFile(rule.Name);
            if (!File.Exists(runbook))
            {
                problems.Add($"{rule}: no runbook page {Path.GetRelativePath(Repository.Root, runbook)}");
            }
            else
            {
                var text = await File.ReadAllTextAsync(runbook);
                problems.AddRange(((string[])["# " + rule.Name, "## Meaning", "## Impact", "## Diagnosis", "## Mitigation"])
                    .Where(heading => !text.Contains(heading, StringComparison.Ordinal))
                    .Select(heading => $"{rule}: runbook lacks '{heading}'"));
            }
        }

        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Fact]
    public async Task Every_alert_has_a_firing_and_a_silent_promtool_case()
    {
        var names = (await AlertRules.LoadAsync()).Select(r => r.Name).ToHashSet(StringComparer.Ordinal);
        var tests = await Yaml.LoadAsync(Repository.RulesTestFile);
        var firing = new HashSet<string>(StringComparer.Ordinal);
        var silent = new HashSet<string>(StringComparer.Ordinal);
        foreach (var test in tests.GetProperty("tests").EnumerateArray())
        {
            if (!test.TryGetProperty("alert_rule_test", out var cases))
            {
                continue;
            }

            foreach (var check in cases.EnumerateArray())
            {
                var name = check.GetProperty("alertname").GetString()!;
                var expected = check.TryGetProperty("exp_alerts", out var alerts) && alerts.ValueKind == JsonValueKind.Array ? alerts.GetArrayLength() : 0;
                (expected > 0 ? firing : silent).Add(name);
            }
        }

        var problems = names.Where(n => !firing.Contains(n)).Select(n => $"{n}: no case where it fires")
            .Concat(names.Where(n => !silent.Contains(n)).Select(n => $"{n}: no case where it stays silent"))
            .Concat(firing.Concat(silent).Where(n => !names.Contains(n)).Distinct().Select(n => $"{n}: tested but not in the rules file"))
            .ToList();
        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Fact]
    public async Task Rules_use_only_metrics_the_exporter_serves()
    {
        var unknown = (await AlertRules.LoadAsync())
            .SelectMany(r => AlertRules.UnknownMetrics(r.Expr).Select(m => $"{r.Name}: {m}"))
            .ToList();

        Assert.True(unknown.Count == 0, "not in MetricCatalog (README Metrics):\n" + string.Join('\n', unknown));
    }
}
