using System.Text;

namespace QmpExporter.Mappings;

/// <summary>
/// Text the peer chose (greeting package, error descriptions, reasons) as it may appear in a log line: at most
/// <see cref="MaxLength"/> characters, with control characters escaped, so a peer can neither flood the log nor
/// forge lines in it. As a log argument (<c>new PeerText(text)</c>) it is bounded only when the line is written.
/// </summary>
internal readonly struct PeerText(string? text)
{
    public const int MaxLength = 256;

    public static string ForLog(string? text)
    {
        if (text is null)
        {
            return "";
        }

        var shown = text.Length > MaxLength ? text.AsSpan(0, MaxLength) : text.AsSpan();
        var clean = true;
        foreach (var c in shown)
        {
            clean &= !char.IsControl(c);
        }

        if (clean && shown.Length == text.Length)
        {
            return text;
        }

        var result = new StringBuilder(shown.Length + 32);
        foreach (var c in shown)
        {
            _ = c switch
            {
                '\n' => result.Append("\\n"),
                '\r' => result.Append("\\r"),
                '\t' => result.Append("\\t"),
                _ when char.IsControl(c) => result.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture)),
                _ => result.Append(c),
            };
        }

        if (shown.Length < text.Length)
        {
            result.Append("... (").Append(text.Length).Append(" characters)");
        }

        return result.ToString();
    }

    public override string ToString() => ForLog(text);
}
