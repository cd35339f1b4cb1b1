namespace QmpExporter.Mappings;

/// <summary>The state queries a session runs after every (re)connect, on request and, for some, on a timer.</summary>
[Flags]
internal enum VmQuery
{
    None = 0,
    Block = 1,
    Version = 2,
    Status = 4,
    BlockJobs = 8,
    Migration = 16,
    BlockStats = 32,
    NamedBlockNodes = 64,
    All = Block | Version | Status | BlockJobs | Migration | BlockStats | NamedBlockNodes,
}
