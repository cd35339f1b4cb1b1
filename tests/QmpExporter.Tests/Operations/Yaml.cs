using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace QmpExporter.Tests.Operations;

/// <summary>
/// Reads a YAML document (alert rules, their tests, rendered chart manifests) as JSON, so the checks read YAML and
/// JSON files alike. Plain scalars are typed as YAML 1.2's core schema says (null, booleans, numbers); quoted and
/// block scalars stay strings.
/// </summary>
internal static partial class Yaml
{
    public static async Task<JsonElement> LoadAsync(string path) => Parse(await File.ReadAllTextAsync(path));

    public static JsonElement Parse(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            if (stream.Documents.Count == 0)
            {
                writer.WriteNullValue();
            }
            else
            {
                Write(writer, stream.Documents[0].RootNode);
            }
        }

        using var document = JsonDocument.Parse(buffer.ToArray());
        return document.RootElement.Clone();
    }

    private static void Write(Utf8JsonWriter writer, YamlNode node)
    {
        switch (node)
        {
            case YamlMappingNode mapping:
                writer.WriteStartObject();
                foreach (var (key, value) in mapping.Children)
                {
                    writer.WritePropertyName(((YamlScalarNode)key).Value ?? "");
                    Write(writer, value);
                }

                writer.WriteEndObject();
                break;
            case YamlSequenceNode sequence:
                writer.WriteStartArray();
                foreach (var item in sequence.Children)
                {
                    Write(writer, item);
                }

                writer.WriteEndArray();
                break;
            case YamlScalarNode scalar:
                WriteScalar(writer, scalar);
                break;
            default:
                throw new InvalidOperationException($"unsupported YAML node {node.NodeType} at {node.Start}");
        }
    }

    private static void WriteScalar(Utf8JsonWriter writer, YamlScalarNode scalar)
    {
        var text = scalar.Value ?? "";
        if (scalar.Style != ScalarStyle.Plain)
        {
            writer.WriteStringValue(text);
        }
        else if (text is "" or "~" or "null" or "Null" or "NULL")
        {
            writer.WriteNullValue();
        }
        else if (text is "true" or "True" or "TRUE" or "false" or "False" or "FALSE")
        {
            writer.WriteBooleanValue(text[0] is 't' or 'T');
        }
        else if (Integer().IsMatch(text))
        {
            writer.WriteNumberValue(long.Parse(text, CultureInfo.InvariantCulture));
        }
        else if (Float().IsMatch(text))
        {
            writer.WriteNumberValue(double.Parse(text, CultureInfo.InvariantCulture));
        }
        else
        {
            writer.WriteStringValue(text);
        }
    }

    [GeneratedRegex(@"^[-+]?[0-9]+$")]
    private static partial Regex Integer();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex Float();
}
