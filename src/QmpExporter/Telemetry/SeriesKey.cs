namespace QmpExporter.Telemetry;

/// <summary>The label values of one series, in the order of <see cref="MetricFamily.Labels"/>; unused slots stay null.</summary>
internal readonly record struct SeriesKey(string? L0 = null, string? L1 = null, string? L2 = null, string? L3 = null, string? L4 = null)
{
    public const int MaxLabels = 5;

    public static readonly SeriesKey None = default;

    public string? this[int index] => index switch
    {
        0 => L0,
        1 => L1,
        2 => L2,
        3 => L3,
        4 => L4,
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };
}
