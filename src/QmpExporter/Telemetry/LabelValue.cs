using System.Security.Cryptography;
using System.Text;

namespace QmpExporter.Telemetry;

/// <summary>
/// Label values come from the peer (device, node and job names, reasons), which may send megabytes in one. A value
/// longer than <see cref="MaxLength"/> keeps its head and gets a hash of the whole value as a suffix, so two long
/// values that share a head stay two series, and the same value always maps to the same label.
/// </summary>
internal static class LabelValue
{
    /// <summary>Characters a label value may have, the hash suffix included.</summary>
    public const int MaxLength = 128;

    /// <summary>"~" and 16 hex digits: 64 bits of SHA-256, plenty for the few hundred values a VM may have in a family.</summary>
    private const int SuffixLength = 17;

    public static string Bound(string value)
    {
        if (value.Length <= MaxLength)
        {
            return value;
        }

        var head = MaxLength - SuffixLength;
        if (char.IsHighSurrogate(value[head - 1]))
        {
            head--;
        }

        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(value), hash);
        return string.Concat(value.AsSpan(0, head), "~", Convert.ToHexStringLower(hash[..8]));
    }
}
