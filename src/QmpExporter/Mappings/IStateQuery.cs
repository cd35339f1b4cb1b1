using System.Text.Json;

namespace QmpExporter.Mappings;

/// <summary>
/// A QMP query that tells the current state, where events only tell changes. Its reply is applied on the read loop
/// in order with the events, so a reply can never overwrite what a later event said.
/// </summary>
internal interface IStateQuery : IMapping
{
    VmQuery Query { get; }

    string Command { get; }

    /// <summary>How long after its last run the query runs again by itself; null for only on (re)connect and on request.</summary>
    TimeSpan? PollInterval(VmContext vm, PollSettings settings);

    /// <summary>
    /// Quick, never throws on odd data. <paramref name="sentAt"/> is the VM's <see cref="VmContext.EventSequence"/>
    /// when the query was sent: what had an event since then keeps the event's word.
    /// </summary>
    void Apply(JsonElement result, VmContext vm, long sentAt);
}

internal sealed record PollSettings(TimeSpan ActivePollInterval, TimeSpan BlockStatsInterval, TimeSpan FinishedJobRetention);
