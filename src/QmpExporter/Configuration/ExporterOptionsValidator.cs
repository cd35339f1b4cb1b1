using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using QmpExporter.Qmp;

namespace QmpExporter.Configuration;

/// <summary>
/// Checks the whole section at start-up and on every reload; each message names the key that is wrong, as the
/// configuration spells it (a <c>--vm</c> entry is <c>QmpExporter:Vms:10000</c> and up).
/// </summary>
internal sealed class ExporterOptionsValidator(IConfiguration? configuration = null) : IValidateOptions<ExporterOptions>
{
    private const int MaxLineBytesLimit = 256 * 1024 * 1024;

    /// <summary>Well below the ~170 MB past which the Prometheus exporter fails every scrape.</summary>
    private const long MaxScrapeBytesLimit = 128L * 1024 * 1024;

    private static readonly TimeSpan MaxDuration = TimeSpan.FromDays(1);

    public ValidateOptionsResult Validate(string? name, ExporterOptions options)
    {
        var errors = VmErrors(options.Vms, options.AllowManagementSockets);
        errors.AddRange(SourceErrors(options, configuration?.GetSection(ExporterOptions.Section + ":Discover:Globs").GetChildren().Select(c => c.Path).ToArray()));
        // The upper bounds keep arithmetic on them (buffer sizes, timers) far from overflow.
        Positive(errors, nameof(options.MaxLineBytes), options.MaxLineBytes is >= 1024 and <= MaxLineBytesLimit, $"must be between 1024 and {MaxLineBytesLimit}");
        Positive(errors, nameof(options.MaxSeriesPerVm), options.MaxSeriesPerVm is >= 1 and <= 1_000_000, "must be between 1 and 1000000");
        Positive(errors, nameof(options.MaxScrapeBytes), options.MaxScrapeBytes is >= 64 * 1024 and <= MaxScrapeBytesLimit, $"must be between 65536 and {MaxScrapeBytesLimit}");
        Positive(errors, nameof(options.MaxHttpConnections), options.MaxHttpConnections is >= 1 and <= 65536, "must be between 1 and 65536");
        foreach (var (key, value) in new[]
                 {
                     (nameof(options.ConnectTimeout), options.ConnectTimeout),
                     (nameof(options.GreetingTimeout), options.GreetingTimeout),
                     (nameof(options.CommandTimeout), options.CommandTimeout),
                     (nameof(options.ReconnectMinDelay), options.ReconnectMinDelay),
                     (nameof(options.ReconnectMaxDelay), options.ReconnectMaxDelay),
                     (nameof(options.ActivePollInterval), options.ActivePollInterval),
                     (nameof(options.BlockStatsInterval), options.BlockStatsInterval),
                     (nameof(options.FinishedJobRetention), options.FinishedJobRetention),
                 })
        {
            Positive(errors, key, value > TimeSpan.Zero && value <= MaxDuration, "must be a positive duration such as 00:00:05, at most a day");
        }

        Positive(errors, nameof(options.ReconnectMaxDelay), options.ReconnectMaxDelay >= options.ReconnectMinDelay, "must not be shorter than ReconnectMinDelay");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>What is wrong with a VM list: the part of the section a reload applies.</summary>
    public List<string> VmErrors(IReadOnlyList<VmOptions> vms, bool allowManagementSockets = false)
    {
        var errors = new List<string>();
        var names = new Dictionary<string, string>(StringComparer.Ordinal);

        // The binder fills the list in the order of the section's children, so position i is the i-th child.
        var keys = configuration?.GetSection(ExporterOptions.Section + ":Vms").GetChildren().Select(c => c.Path).ToArray() ?? [];
        for (var i = 0; i < vms.Count; i++)
        {
            var vm = vms[i];
            var key = i < keys.Length ? keys[i] : $"{ExporterOptions.Section}:Vms:{i}";
            if (string.IsNullOrWhiteSpace(vm.Name))
            {
                errors.Add($"{key}:Name is empty; every VM needs a name (it becomes the vm label)");
            }
            else if (names.TryGetValue(vm.Name, out var first))
            {
                errors.Add($"{key}:Name '{vm.Name}' is a duplicate of {first}:Name");
            }
            else
            {
                names.Add(vm.Name, key);
            }

            if (!QmpEndpoint.TryParse(vm.Socket, out _, out var error))
            {
                errors.Add($"{key}:Socket {error}");
            }
        }

        if (!allowManagementSockets)
        {
            errors.AddRange(ManagementSockets.VmErrors(vms, keys));
        }

        return errors;
    }

    /// <summary>What is wrong with the listening socket, the discovery globs and the grace.</summary>
    public static List<string> SourceErrors(ExporterOptions options, IReadOnlyList<string>? globKeys = null)
    {
        var errors = new List<string>();
        var listen = options.Listen;
        if (listen.Path.Length > 0)
        {
            if (!QmpEndpoint.TryParse(listen.Path, out var endpoint, out var error) || !endpoint.IsUnix || listen.Path.StartsWith("unix:", StringComparison.Ordinal))
            {
                errors.Add($"{ExporterOptions.Section}:Listen:Path {error ?? $"'{listen.Path}' must be a plain unix socket path"}");
            }

            if (Sources.UnixSocketFile.TryParseMode(listen.Mode) is null)
            {
                errors.Add($"{ExporterOptions.Section}:Listen:Mode '{listen.Mode}' is not an octal mode such as 0660");
            }
        }

        errors.AddRange(Sources.SocketGlob.Errors(options.Discover, globKeys));
        Positive(errors, "DepartedVmGrace", options.DepartedVmGrace > TimeSpan.Zero, "must be a positive duration such as 00:05:00");
        Positive(errors, "Discover:RescanInterval", options.Discover.RescanInterval > TimeSpan.Zero, "must be a positive duration such as 00:00:02");
        if (!options.AllowManagementSockets)
        {
            errors.AddRange(ManagementSockets.SourceErrors(options, globKeys));
        }

        return errors;
    }

    private static void Positive(List<string> errors, string key, bool ok, string requirement)
    {
        if (!ok)
        {
            errors.Add($"{ExporterOptions.Section}:{key} {requirement}");
        }
    }
}
