using QmpExporter.Mappings;
using QmpExporter.Telemetry;

namespace QmpExporter.Libvirt;

/// <summary>
/// <c>qemu_block_node_info</c>: which libvirt disk (target, QEMU device id) each block node belongs to, so series
/// labelled by <c>node_name</c> can be joined to the disk. Kept current as blockcopy, commit, snapshots, media
/// changes and restores replace nodes; the series of nodes QEMU no longer has are released, in every family that
/// carries a <c>node_name</c>. Written by the libvirt source only (from the live domain XML); a socket session has no
/// libvirt disks, so it never has this family's series.
/// </summary>
internal sealed class BlockNodeInfo : IMapping
{
    public static readonly MetricFamily Info = MetricFamily.Gauge("qemu_block_node_info",
        "1 for each block node of a libvirt domain's disks (libvirt source only), joining QEMU's node name (libvirt-N-format) to libvirt's disk target and QEMU's device id; kept current as nodes are renamed by blockcopy, commit, snapshots and media changes.",
        ["node_name", "device", "target"]);

    private const string NodeName = "node_name";
    private const string LibvirtNodePrefix = "libvirt-";

    public IReadOnlyList<MetricFamily> Families { get; } = [Info];

    /// <summary>Sets the info series from the domain's disks; <paramref name="sentAt"/> guards nodes named by an event newer than the XML.</summary>
    public static void Apply(VmContext vm, DomainXml domain, long sentAt)
    {
        var current = new List<Series>();
        var nodes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var disk in domain.Disks)
        {
            foreach (var node in disk.Nodes)
            {
                current.Add(Info.With(NodeName, node).With("device", disk.Alias).With("target", disk.Target));
                nodes.Add(node);
            }
        }

        var keys = current.Select(s => s.Key).ToHashSet();
        vm.Series.RemoveWhere(Info, key => !keys.Contains(key));
        foreach (var series in current)
        {
            vm.Series.Set(series, 1);
        }

        // An event after the XML was read may name a node the XML did not have yet.
        if (vm.EventSequence > sentAt)
        {
            return;
        }

        foreach (var family in EventMappings.Catalog)
        {
            var label = family.LabelIndex(NodeName);
            if (family != Info && label >= 0)
            {
                vm.Series.RemoveWhere(family, key => key[label] is { } node && node.StartsWith(LibvirtNodePrefix, StringComparison.Ordinal) && !nodes.Contains(node));
            }
        }
    }
}
