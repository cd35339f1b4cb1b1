using System.Globalization;
using System.Xml;
using System.Xml.Linq;

namespace QmpExporter.Libvirt;

/// <summary>One disk of a running domain, from its live XML: libvirt's target and alias (QEMU's device id), and the block nodes of its chain, top first.</summary>
internal sealed record DomainDisk(string Target, string Alias, bool Removable, bool? TrayOpen, IReadOnlyList<string> Nodes)
{
    /// <summary>The format node the guest device sits on (QEMU's root node), or null for an empty drive.</summary>
    public string? TopNode => Nodes.Count > 0 ? Nodes[0] : null;
}

/// <summary>
/// What the exporter reads from a running domain's XML (virDomainGetXMLDesc): its emulator and its disks. libvirt
/// starts QEMU with <c>-blockdev</c> and names each image's nodes after the <c>index</c> attribute of its
/// <c>source</c> or <c>backingStore</c>: <c>libvirt-N-format</c> over <c>libvirt-N-storage</c>. The format node is the
/// one QEMU's events name; the index changes when blockcopy, commit, snapshots or a media change replace an image.
/// </summary>
internal sealed record DomainXml(string Emulator, IReadOnlyList<DomainDisk> Disks)
{
    public static DomainXml Parse(string xml)
    {
        var domain = XDocument.Parse(xml).Root ?? throw new XmlException("empty domain XML");
        var devices = domain.Element("devices");
        var disks = new List<DomainDisk>();
        foreach (var disk in devices?.Elements("disk") ?? [])
        {
            var target = disk.Element("target");
            var device = (string?)disk.Attribute("device") ?? "disk";
            var removable = device is "cdrom" or "floppy";
            var nodes = new List<string>();
            if (Index(disk.Element("source")) is { } top)
            {
                nodes.Add(FormatNode(top));
                for (var backing = disk.Element("backingStore"); Index(backing) is { } index; backing = backing!.Element("backingStore"))
                {
                    nodes.Add(FormatNode(index));
                }
            }

            disks.Add(new DomainDisk(
                (string?)target?.Attribute("dev") ?? "",
                (string?)disk.Element("alias")?.Attribute("name") ?? "",
                removable,
                removable ? (string?)target?.Attribute("tray") == "open" : null,
                nodes));
        }

        return new DomainXml(devices?.Element("emulator")?.Value.Trim() ?? "", disks);
    }

    public static string FormatNode(int index) => "libvirt-" + index.ToString(CultureInfo.InvariantCulture) + "-format";

    private static int? Index(XElement? element) =>
        element?.Attribute("index") is { } index && int.TryParse(index.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : null;
}
