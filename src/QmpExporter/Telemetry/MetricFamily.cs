namespace QmpExporter.Telemetry;

internal enum MetricKind
{
    Counter,
    Gauge,

    /// <summary>Observations in buckets (<see cref="MetricFamily.Bounds"/>), kept by <see cref="VmSeries.Observe"/>.</summary>
    Histogram,
}

/// <summary>When a family's series of a VM are removed, besides when the VM itself goes.</summary>
internal enum Teardown
{
    /// <summary>Kept while the VM is configured: counters, and gauges whose last value stays true.</summary>
    None,

    /// <summary>Removed when the QMP session ends: a state nobody can vouch for without a monitor.</summary>
    Disconnected,

    /// <summary>Removed when the VM's session is stopped (VM removed, socket changed): a new session queries them again.</summary>
    SessionEnded,
}

/// <summary>
/// One metric of the contract: its exact Prometheus name, HELP text and label keys (besides <c>vm</c>, which every
/// per-VM series carries first), declared by the mapping that writes it. <see cref="MaxSeriesPerVm"/> bounds the label
/// sets one VM may create (<see cref="Configured"/>: QmpExporter:MaxSeriesPerVm); what goes past it is counted in
/// <c>qmp_series_dropped_total</c>. <see cref="Seeds"/> exist at 0 from a VM's start, so that <c>increase()</c> sees
/// the first event of a rare outcome.
/// </summary>
internal sealed class MetricFamily
{
    /// <summary>The cap of a family whose labels are free-form names (devices, nodes, jobs): QmpExporter:MaxSeriesPerVm.</summary>
    public const int Configured = 0;

    private MetricFamily(string name, MetricKind kind, string help, string[] labels, int maxSeriesPerVm)
    {
        if (labels.Length > SeriesKey.MaxLabels || labels.Distinct(StringComparer.Ordinal).Count() != labels.Length || labels.Contains("vm"))
        {
            throw new ArgumentException($"{name}: at most {SeriesKey.MaxLabels} distinct labels besides vm", nameof(labels));
        }

        (Name, Kind, Help, Labels, MaxSeriesPerVm) = (name, kind, help, labels, maxSeriesPerVm);
    }

    public string Name { get; }

    public MetricKind Kind { get; }

    public string Help { get; }

    public string[] Labels { get; }

    public int MaxSeriesPerVm { get; }

    /// <summary>The label sets that exist at 0 from a VM's start (counters of rare outcomes).</summary>
    public IReadOnlyList<Series> Seeds { get; private set; } = [];

    public Teardown Teardown { get; private init; }

    /// <summary>The upper bounds of a histogram's buckets, +Inf left out; empty for counters and gauges.</summary>
    public double[] Bounds { get; private init; } = [];

    /// <summary>Position in the catalog: the index of the family's slot in every VM's series store; -1 until catalogued.</summary>
    public int Index { get; internal set; } = -1;

    public static MetricFamily Counter(string name, string help, string[] labels, int maxSeriesPerVm = Configured) =>
        new(name, MetricKind.Counter, help, labels, maxSeriesPerVm);

    public static MetricFamily Gauge(string name, string help, string[] labels, int maxSeriesPerVm = Configured, Teardown teardown = Teardown.None) =>
        new(name, MetricKind.Gauge, help, labels, maxSeriesPerVm) { Teardown = teardown };

    /// <summary>A histogram with no labels besides <c>vm</c>, whose buckets end at <paramref name="bounds"/> (then +Inf).</summary>
    public static MetricFamily Histogram(string name, string help, double[] bounds) =>
        bounds.Length > 0 && bounds.Zip(bounds.Skip(1)).All(p => p.First < p.Second)
            ? new(name, MetricKind.Histogram, help, [], 1) { Bounds = bounds }
            : throw new ArgumentException($"{name}: bucket bounds must be increasing", nameof(bounds));

    /// <summary>Creates the family's one series at 0 for every VM (a family without labels).</summary>
    public MetricFamily SeededAtZero() => Seed(Labels.Length == 0 ? [new Series(this)] : throw new InvalidOperationException($"{Name} has labels: seed it by values"));

    /// <summary>Creates the series of each value of the family's one label at 0 for every VM.</summary>
    public MetricFamily Seeded(params IEnumerable<string> values) =>
        Seed(Labels.Length == 1 ? [.. values.Select(v => With(Labels[0], v))] : throw new InvalidOperationException($"{Name}: seeding by values needs exactly one label"));

    /// <summary>Starts a series of this family by naming its labels: a name the family does not have throws.</summary>
    public Series With(string label, string value) => new Series(this).With(label, value);

    /// <summary>The series of a family without labels.</summary>
    public static implicit operator Series(MetricFamily family) => new(family);

    public int LabelIndex(string label)
    {
        for (var i = 0; i < Labels.Length; i++)
        {
            // Label names are literals, so the reference check almost always decides.
            if (ReferenceEquals(Labels[i], label) || string.Equals(Labels[i], label, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    public override string ToString() => Name;

    private MetricFamily Seed(Series[] seeds)
    {
        Seeds = seeds;
        return this;
    }
}
