namespace QmpExporter.Telemetry;

/// <summary>The label values of one series, in the order of <see cref="MetricFamily.Labels"/>; built only by <see cref="Series.With"/>.</summary>
internal readonly record struct SeriesKey
{
    public const int MaxLabels = 5;

    public static readonly SeriesKey None;

    private readonly string? l0, l1, l2, l3, l4;

    private SeriesKey(string? l0, string? l1, string? l2, string? l3, string? l4) => (this.l0, this.l1, this.l2, this.l3, this.l4) = (l0, l1, l2, l3, l4);

    public string? this[int index] => index switch
    {
        0 => l0,
        1 => l1,
        2 => l2,
        3 => l3,
        4 => l4,
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };

    internal SeriesKey With(int index, string value) => index switch
    {
        0 => new(value, l1, l2, l3, l4),
        1 => new(l0, value, l2, l3, l4),
        2 => new(l0, l1, value, l3, l4),
        3 => new(l0, l1, l2, value, l4),
        4 => new(l0, l1, l2, l3, value),
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };
}

/// <summary>
/// One series of a family, its labels set by name: <c>Family.With("job", id).With("type", type)</c>. A label the family
/// does not have, or one set twice, throws at once; one left unset throws when the series is used. So a call site
/// cannot depend on the order the family declares its labels in, and a wrong name fails the mapping's first test.
/// </summary>
internal readonly struct Series
{
    private readonly int set;

    public Series(MetricFamily family) => Family = family;

    private Series(MetricFamily family, SeriesKey key, int set) => (Family, Key, this.set) = (family, key, set);

    public MetricFamily Family { get; }

    public SeriesKey Key { get; }

    /// <summary>True when every label of the family has a value.</summary>
    public bool IsComplete => set == (1 << Family.Labels.Length) - 1;

    public Series With(string label, string value)
    {
        var index = Family.LabelIndex(label);
        if (index < 0)
        {
            throw new ArgumentException($"{Family.Name} has no label '{label}' (it has: {string.Join(", ", Family.Labels)})", nameof(label));
        }

        if ((set & (1 << index)) != 0)
        {
            throw new ArgumentException($"{Family.Name}: label '{label}' set twice", nameof(label));
        }

        // The one place a label value enters a series: peer-sent values are bounded here, once.
        return new Series(Family, Key.With(index, LabelValue.Bound(value)), set | (1 << index));
    }

    /// <summary>The key of a complete series; throws naming the labels left unset.</summary>
    public SeriesKey CompleteKey()
    {
        if (!IsComplete)
        {
            var set = this.set;
            throw new InvalidOperationException($"{Family.Name}: labels not set: {string.Join(", ", Family.Labels.Where((_, i) => (set & (1 << i)) == 0))}");
        }

        return Key;
    }
}
