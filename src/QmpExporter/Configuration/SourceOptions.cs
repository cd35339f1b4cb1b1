namespace QmpExporter.Configuration;

/// <summary><c>QmpExporter:Listen</c>: the unix socket QEMUs dial in to with <c>-chardev socket,path=PATH,reconnect=5 -mon chardev=...,mode=control</c>.</summary>
internal sealed class ListenOptions
{
    /// <summary>The socket path, e.g. /run/qmp-exporter/qmp.sock; empty for no listening socket. Its directory is created when missing.</summary>
    public string Path { get; set; } = "";

    /// <summary>Permission bits of the socket file, octal (connecting needs write permission).</summary>
    public string Mode { get; set; } = "0660";

    /// <summary>Group (name or number) given the socket file, e.g. the group QEMU runs as; empty keeps the exporter's.</summary>
    public string Group { get; set; } = "";
}

/// <summary><c>QmpExporter:Discover</c>: QMP server sockets found by glob, connected when they appear.</summary>
internal sealed class DiscoverOptions
{
    /// <summary>Globs such as /run/qemu/*.qmp: wildcards (<c>*</c>, <c>?</c>) in the file name only.</summary>
    public List<string> Globs { get; set; } = [];

    /// <summary>A regular expression on the file name whose group <c>name</c> is the <c>vm</c> label; empty: the file name without its extension.</summary>
    public string NamePattern { get; set; } = "";

    /// <summary>Safety net beside the file watcher: how often the directories are listed again.</summary>
    public TimeSpan RescanInterval { get; set; } = TimeSpan.FromSeconds(2);
}
