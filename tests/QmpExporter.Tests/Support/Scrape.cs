using System.Globalization;
using System.Text.RegularExpressions;

namespace QmpExporter.Tests.Support;

/// <summary>One parsed Prometheus text exposition: sample lines keyed by their series text, e.g. <c>qmp_up{vm="a"}</c>.</summary>
internal sealed partial class Scrape(string text)
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

            var have = brace < 0 ? [] : Labels(series[brace..]).Select(l => $"{l.Key}=\"{l.Value}\"").OrderBy(l => l, StringComparer.Ordinal).ToArray();
            if (have.SequenceEqual(wanted))
            {
                return value;
            }
        }

        return null;
    }

    /// <summary>The value of <paramref name="metric"/> for VM <paramref name="vm"/> with exactly these other labels.</summary>
    public double? Of(string vm, string metric, params (string Name, string Value)[] labels) => Value(metric, [("vm", vm), .. labels]);

    /// <summary>Every series of <paramref name="metric"/> of VM <paramref name="vm"/>, keyed by its other labels (<see cref="Key"/>).</summary>
    public Dictionary<string, double> SeriesOf(string vm, string metric)
    {
        var series = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (text, value) in Samples)
        {
            var brace = text.IndexOf('{', StringComparison.Ordinal);
            if (brace < 0 || text[..brace] != metric)
            {
                continue;
            }

            var labels = Labels(text[brace..]);
            if (labels.Remove("vm", out var owner) && owner == vm)
            {
                series[Key([.. labels.Select(kv => (kv.Key, kv.Value))])] = value;
            }
        }

        return series;
    }

    /// <summary><c>qmp_events_total</c> of one VM by event name.</summary>
    public Dictionary<string, double> EventCounts(string vm) =>
        SeriesOf(vm, "qmp_events_total").ToDictionary(kv => Labels("{" + kv.Key + "}")["event"], kv => kv.Value, StringComparer.Ordinal);

    /// <summary>Connected, negotiated, and the initial query-status applied: the session is idle and waits for events.</summary>
    public bool IsSettled(string vm) => Of(vm, "qmp_up") == 1 && Of(vm, "qemu_vm_status", ("status", "running")) == 1;

    /// <summary>The labels of a series text <c>{a="b",c="d"}</c>: the one label parser of the tests.</summary>
    public static Dictionary<string, string> Labels(string braces)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Match m in LabelPair().Matches(braces))
        {
            labels[m.Groups[1].Value] = Regex.Unescape(m.Groups[2].Value);
        }

        return labels;
    }

    /// <summary>The canonical key of a label set: <c>name="value"</c> sorted by name, comma-separated.</summary>
    public static string Key(params (string Name, string Value)[] labels) =>
        string.Join(',', labels.OrderBy(l => l.Name, StringComparer.Ordinal).Select(l => $"{l.Name}=\"{l.Value}\""));

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


    [GeneratedRegex("""(\w+)="((?:[^"\\]|\\.)*)"(?:,|\})""")]
    private static partial Regex LabelPair();
}
