namespace QmpExporter.Mappings;

/// <summary>
/// Stable names for block nodes. QEMU names nodes the user did not name <c>#block123</c>, differently on every start;
/// as labels they would make new series each time. A root node is named after its drive (the <c>-drive</c> id) or, for
/// <c>-blockdev</c>, its guest device, learnt from query-block. Names the user gave are kept as they are.
/// </summary>
internal sealed class BlockNodeNames
{
    private Dictionary<string, string> byAutoName = new(StringComparer.Ordinal);

    /// <summary>The label for a node name from QEMU; "" when absent or auto-generated and not (yet) known.</summary>
    public string Resolve(string? nodeName, out bool unknown)
    {
        unknown = false;
        if (string.IsNullOrEmpty(nodeName))
        {
            return "";
        }

        if (nodeName[0] != '#')
        {
            return nodeName;
        }

        if (Volatile.Read(ref byAutoName).TryGetValue(nodeName, out var stable))
        {
            return stable;
        }

        unknown = true;
        return "";
    }

    public void Replace(Dictionary<string, string> autoNames) => Volatile.Write(ref byAutoName, autoNames);
}
