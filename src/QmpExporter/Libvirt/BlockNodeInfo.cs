using QmpExporter.Mappings;
using QmpExporter.Telemetry;

namespace QmpExporter.Libvirt;

/// <summary>
/// <c>qemu_block_node_info</c>: which libvirt disk (target, QEMU device id) each block node belongs to, so series
/// labelled by <c>node_name</c> can be joined to the disk. Kept current as blockcopy, commit, snapshots, media
/// changes and restores replace nodes; the series of nodes QEMU no longer has are released, in every family that
/// carries a <c>node_name</c>.
/// </summary>
internal static class BlockNodeInfo
{
    private const string LibvirtNodePrefix = "libvirt-";

    /// <summary>Families labelled by node name, with the label's position.</summary>
    private static readonly (MetricFamily Family, int Label)[] NodeFamilies =
    [
        (MetricCatalog.BlockIoErrors, 1),
        (MetricCatalog.BlockFailedOperations, 1),
        (MetricCatalog.QuorumBadReports, 0),
        (MetricCatalog.QuorumBadSectors, 0),
    ];

    /// <summary>Sets the info series from the domain's disks; <paramref name="sentAt"/> guards nodes named by an event newer than the XML.</summary>
    public static void Apply(VmContext vm, DomainXml domain, long sentAt)
    {
        var current = new HashSet<SeriesKey>();
        var nodes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var disk in domain.Disks)
        {
            foreach (var node in disk.Nodes)
            {
                current.Add(new SeriesKey(node, disk.Alias, disk.Target));
                nodes.Add(node);
            }
        }

        vm.Series.RemoveWhere(MetricCatalog.BlockNodeInfo, key => !current.Contains(key));
        foreach (var key in current)
        {
            vm.Series.Set(MetricCatalog.BlockNodeInfo, key, 1);
        }

        // An event after the XML was read may name a node the XML did not have yet.
        if (vm.EventSequence > sentAt)
        {
            return;
        }

        foreach (var (family, label) in NodeFamilies)
        {
            vm.Series.RemoveWhere(family, key => key[label] is { } node && node.StartsWith(LibvirtNodePrefix, StringComparison.Ordinal) && !nodes.Contains(node));
        }
    }
}
