using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Operations;

/// <summary>
/// grafana/dashboards/qmp-exporter.json: it type-checks against Grafana's own schema types, every panel query parses
/// as PromQL, and it follows the house rules (datasource, job and vm variables; no hard-coded job).
/// </summary>
public sealed partial class DashboardTests
{
    private static readonly Dictionary<string, string> ParseVariables = new(StringComparer.Ordinal)
    {
        ["job"] = "qmp-exporter",
        ["instance"] = ".*",
        ["vm"] = ".*",
    };

    /// <summary>
    /// tsc --strict on the JSON as a TypeScript constant of @grafana/schema's Dashboard type (toolchain.md section 6). The
    /// type is seen through <c>Json&lt;T&gt;</c>, which only lets a string enum accept its values as string literals, as
    /// they appear in JSON (FieldColorModeId "thresholds", ThresholdsMode "absolute"); everything else, excess
    /// properties included, is checked as declared.
    /// </summary>
    [Fact]
    public async Task Dashboard_type_checks_against_grafana_schema()
    {
        var json = await File.ReadAllTextAsync(Repository.DashboardFile);
        using (JsonDocument.Parse(json))
        {
            // Valid JSON first: tsc would accept some non-JSON (comments, trailing commas).
        }

        var dir = Directory.CreateTempSubdirectory("qmp-dash-");
        try
        {
            // Module resolution looks for node_modules above the checked file.
            Directory.CreateSymbolicLink(Path.Combine(dir.FullName, "node_modules"), Repository.Path("tools", "node_modules"));
            var source = new StringBuilder()
                .AppendLine("import type { Dashboard } from \"@grafana/schema\";")
                .AppendLine("type Json<T> = T extends string ? `${T}` : T extends number | boolean | null | undefined ? T : T extends ReadonlyArray<infer U> ? Array<Json<U>> : T extends object ? { [K in keyof T]: Json<T[K]> } : T;")
                .Append("export const dashboard: Json<Dashboard> = ").Append(json).AppendLine(";");
            var file = Path.Combine(dir.FullName, "dashboard.ts");
            await File.WriteAllTextAsync(file, source.ToString());

            var result = await ExternalTool.RunAsync("tsc",
                ["--strict", "--noEmit", "--module", "nodenext", "--moduleResolution", "nodenext", "--skipLibCheck", "--pretty", "false", file],
                workingDirectory: dir.FullName, timeout: TimeSpan.FromSeconds(120));

            Assert.True(result.ExitCode == 0, $"the dashboard does not match @grafana/schema's Dashboard type (line numbers: JSON line + 2):\n{result}");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>Every target, variables substituted, written as a recording rule and parsed by promtool check rules.</summary>
    [Fact]
    public async Task Every_panel_query_parses_as_promql()
    {
        var queries = DashboardQueries.All(DashboardQueries.Load());
        Assert.NotEmpty(queries);
        var yaml = new StringBuilder("groups:\n  - name: dashboard-panels\n    rules:\n");
        var options = new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        foreach (var query in queries)
        {
            yaml.Append("      - record: dashboard_panel_").Append(query.PanelId).Append('_').Append(query.RefId).Append('\n')
                .Append("        expr: ").Append(JsonSerializer.Serialize(query.Substitute(ParseVariables, "5m"), options)).Append('\n');
        }

        var dir = Directory.CreateTempSubdirectory("qmp-dash-");
        try
        {
            var file = Path.Combine(dir.FullName, "dashboard-panels.rules.yml");
            await File.WriteAllTextAsync(file, yaml.ToString());
            var result = await ExternalTool.RunAsync("promtool", ["check", "rules", file]);

            Assert.True(result.ExitCode == 0 && result.Output.Contains($"SUCCESS: {queries.Count} rules found", StringComparison.Ordinal),
                $"a panel query does not parse (record dashboard_panel_<panel id>_<refId>):\n{result}\n--- rules ---\n{yaml}");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Dashboard_has_datasource_job_and_vm_variables_and_no_hard_coded_job()
    {
        var dashboard = DashboardQueries.Load();
        var problems = new List<string>();
        var variables = dashboard.GetProperty("templating").GetProperty("list").EnumerateArray()
            .ToDictionary(v => v.GetProperty("name").GetString()!, v => v, StringComparer.Ordinal);

        if (!variables.TryGetValue("datasource", out var datasource) || datasource.GetProperty("type").GetString() != "datasource"
            || datasource.GetProperty("query").GetString() != "prometheus")
        {
            problems.Add("no datasource variable of type datasource for prometheus");
        }

        foreach (var name in (string[])["job", "vm"])
        {
            if (!variables.TryGetValue(name, out var variable) || variable.GetProperty("type").GetString() != "query")
            {
                problems.Add($"no query variable {name}");
            }
        }

        if (variables.TryGetValue("vm", out var vm) && !(vm.TryGetProperty("multi", out var multi) && multi.GetBoolean()))
        {
            problems.Add("the vm variable is not multi-select");
        }

        var ids = new HashSet<int>();
        foreach (var panel in DashboardQueries.Panels(dashboard))
        {
            var id = panel.GetProperty("id").GetInt32();
            var title = panel.TryGetProperty("title", out var t) ? t.GetString() : null;
            if (!ids.Add(id))
            {
                problems.Add($"panel id {id} is used twice");
            }

            if (panel.GetProperty("type").GetString() == "row")
            {
                continue;
            }

            if (string.IsNullOrWhiteSpace(title) || !panel.TryGetProperty("description", out var d) || string.IsNullOrWhiteSpace(d.GetString()))
            {
                problems.Add($"panel {id} needs a title and a description");
            }

            if (!UsesDatasourceVariable(panel))
            {
                problems.Add($"panel {id} '{title}' does not use the ${{datasource}} variable");
            }

            foreach (var target in panel.GetProperty("targets").EnumerateArray())
            {
                if (!UsesDatasourceVariable(target))
                {
                    problems.Add($"panel {id} '{title}' target {target.GetProperty("refId")} does not use the ${{datasource}} variable");
                }
            }
        }

        foreach (var query in DashboardQueries.All(dashboard))
        {
            if (HardCodedJob().IsMatch(query.Expr) || !query.Expr.Contains("job=~\"$job\"", StringComparison.Ordinal))
            {
                problems.Add($"{query}: select the job with job=~\"$job\", never a fixed job");
            }

            if (!query.Expr.Contains("vm=~\"$vm\"", StringComparison.Ordinal) && query.Expr.Contains("qemu_", StringComparison.Ordinal))
            {
                problems.Add($"{query}: a per-VM query must select vm=~\"$vm\"");
            }

            problems.AddRange(AlertRules.UnknownMetrics(query.Expr).Select(m => $"{query}: {m} is not a metric the exporter serves"));
        }

        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    private static bool UsesDatasourceVariable(JsonElement element) =>
        element.TryGetProperty("datasource", out var ds) && ds.TryGetProperty("uid", out var uid) && uid.GetString() == "${datasource}";

    /// <summary>A job matcher whose value is not the $job variable (exported_job, the block job id, is fine).</summary>
    [GeneratedRegex("""(?<![\w])job\s*(=~|!~|!=|=)\s*"(?!\$job"|\$\{job\}")""")]
    private static partial Regex HardCodedJob();
}
