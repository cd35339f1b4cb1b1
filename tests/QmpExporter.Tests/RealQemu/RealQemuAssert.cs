using System.Globalization;
using System.Text.RegularExpressions;
using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.RealQemu;

/// <summary>Reads one VM's series from a scrape and compares them with what a <see cref="QemuVm"/>'s control monitor saw.</summary>
internal static partial class RealQemuAssert
{
    /// <summary>
    /// A VM name no other test uses: every in-process exporter's meter is named "QmpExporter", so a scrape can show the
    /// VMs of other exporters running in parallel (see the report on MetricsEndpoint); unique names keep series apart.
    /// </summary>
    public static string UniqueName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)];

    /// <summary>The control monitor's events by name.</summary>
    public static Dictionary<string, double> ControlCounts(this QemuVm qemu) =>
        qemu.ControlEvents.Events.GroupBy(e => e.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => (double)g.Count(), StringComparer.Ordinal);

    /// <summary>QEMU's timestamp of the control monitor's last event, as the exporter computes it.</summary>
    public static double LastControlTimestamp(this QemuVm qemu)
    {
        var last = qemu.ControlEvents.Events[^1];
        return last.Seconds + (last.Microseconds / 1e6);
    }

    /// <summary>True once the exporter has counted as many events as the control monitor saw and stamped the last one.</summary>
    public static bool CaughtUp(this Scrape scrape, string vm, QemuVm qemu)
    {
        var control = qemu.ControlEvents.Events;
        return control.Count > 0
            && scrape.EventCounts(vm).Values.Sum() >= control.Count
            && scrape.Of(vm, "qmp_last_event_timestamp_seconds") is { } ts
            && Math.Abs(ts - qemu.LastControlTimestamp()) <= 1e-6;
    }

    /// <summary>The exporter's per-event counts and last timestamp equal the control monitor's, exactly.</summary>
    public static void EventsMatchControl(Scrape scrape, string vm, QemuVm qemu)
    {
        var expected = Describe(qemu.ControlCounts());
        var actual = Describe(scrape.EventCounts(vm).Where(kv => kv.Value != 0).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal));
        Assert.Equal(expected, actual);
        var ts = scrape.Of(vm, "qmp_last_event_timestamp_seconds");
        Assert.NotNull(ts);
        Assert.True(Math.Abs(ts.Value - qemu.LastControlTimestamp()) <= 1e-6,
            string.Create(CultureInfo.InvariantCulture, $"qmp_last_event_timestamp_seconds {ts.Value:R} != control's {qemu.LastControlTimestamp():R}"));
    }

    private static string Describe(Dictionary<string, double> counts) =>
        string.Join(", ", counts.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key}={kv.Value}")));

}
