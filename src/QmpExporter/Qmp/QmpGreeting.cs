namespace QmpExporter.Qmp;

/// <summary>The server greeting (qmp-spec 2.2): QEMU's version, the distribution's package string and the capabilities offered.</summary>
internal sealed record QmpGreeting(string Version, string Package, IReadOnlyList<string> Capabilities);
