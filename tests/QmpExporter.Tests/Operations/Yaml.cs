using System.Text;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Operations;

/// <summary>Reads YAML through js-yaml (pinned in tools/package.json) as JSON.</summary>
internal static class Yaml
{
    public static async Task<System.Text.Json.JsonElement> LoadAsync(string path)
    {
        var result = await ExternalTool.RunCheckedAsync("js-yaml", [path]);
        using var document = System.Text.Json.JsonDocument.Parse(Encoding.UTF8.GetBytes(result.StdOut));
        return document.RootElement.Clone();
    }
}
