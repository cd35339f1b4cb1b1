using System.Globalization;

namespace QmpExporter.Tests.Support;

/// <summary>One parsed Prometheus text exposition: sample lines keyed by their series text, e.g. <c>qmp_up{vm="a"}</c>.</summary>
internal sealed class Scrape(string text)
{
    public string Text { get; } = text;

    public IReadOnlyDictionary<string, double> Samples { get; } = Parse(text);

    /// <summary>The value of the series with exactly these labels (in any order), or null when absent.</summary>
    public double? Value(string metric, params (string Name, string Value)[] labels)
    {
        var wanted = labels.Select(l => $"{l.Name}=\"{l.Value}\"").OrderBy(l => l, StringComparer.Ordinal).ToArray();
        foreach (var (series, value) in Samples)
        {
            var brace = series.IndexOf('{', StringComparison.Ordinal);
            var name = brace < 0 ? series : series[..brace];
            if (name != metric)
            {
                continue;
            }

            var have = brace < 0 ? [] : SplitLabels(series[(brace + 1)..^1]).OrderBy(l => l, StringComparer.Ordinal).ToArray();
            if (have.SequenceEqual(wanted))
            {
                return value;
            }
        }

        return null;
    }

    public bool Has(string metric, string vm) => Samples.Keys.Any(k => k.StartsWith(metric + "{", StringComparison.Ordinal) && k.Contains($"vm=\"{vm}\"", StringComparison.Ordinal));

    public override string ToString() => Text;

    private static Dictionary<string, double> Parse(string text)
    {
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var space = line.LastIndexOf(' ');
            var valueText = line[(space + 1)..];
            var value = valueText switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                "NaN" => double.NaN,
                _ => double.Parse(valueText, CultureInfo.InvariantCulture),
            };
            samples[line[..space]] = value;
        }

        return samples;
    }

    private static IEnumerable<string> SplitLabels(string labels)
    {
        var start = 0;
        var quoted = false;
        for (var i = 0; i < labels.Length; i++)
        {
            if (labels[i] == '"' && (i == 0 || labels[i - 1] != '\\'))
            {
                quoted = !quoted;
            }
            else if (labels[i] == ',' && !quoted)
            {
                yield return labels[start..i];
                start = i + 1;
            }
        }

        if (start < labels.Length)
        {
            yield return labels[start..];
        }
    }
}
