using Microsoft.Extensions.Options;
using QmpExporter.Qmp;

namespace QmpExporter.Configuration;

/// <summary>Checks the whole section at start-up and on every reload; each message names the key that is wrong.</summary>
internal sealed class ExporterOptionsValidator : IValidateOptions<ExporterOptions>
{
    public ValidateOptionsResult Validate(string? name, ExporterOptions options)
    {
        var errors = new List<string>();
        var names = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < options.Vms.Count; i++)
        {
            var vm = options.Vms[i];
            var key = $"{ExporterOptions.Section}:Vms:{i}";
            if (string.IsNullOrWhiteSpace(vm.Name))
            {
                errors.Add($"{key}:Name is empty; every VM needs a name (it becomes the vm label)");
            }
            else if (names.TryGetValue(vm.Name, out var first))
            {
                errors.Add($"{key}:Name '{vm.Name}' is a duplicate of {ExporterOptions.Section}:Vms:{first}:Name");
            }
            else
            {
                names.Add(vm.Name, i);
            }

            if (!QmpEndpoint.TryParse(vm.Socket, out _, out var error))
            {
                errors.Add($"{key}:Socket {error}");
            }
        }

        Positive(errors, nameof(options.MaxLineBytes), options.MaxLineBytes >= 1024, "must be at least 1024");
        Positive(errors, nameof(options.MaxSeriesPerVm), options.MaxSeriesPerVm >= 1, "must be at least 1");
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
            Positive(errors, key, value > TimeSpan.Zero, "must be a positive duration such as 00:00:05");
        }

        Positive(errors, nameof(options.ReconnectMaxDelay), options.ReconnectMaxDelay >= options.ReconnectMinDelay, "must not be shorter than ReconnectMinDelay");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void Positive(List<string> errors, string key, bool ok, string requirement)
    {
        if (!ok)
        {
            errors.Add($"{ExporterOptions.Section}:{key} {requirement}");
        }
    }
}
