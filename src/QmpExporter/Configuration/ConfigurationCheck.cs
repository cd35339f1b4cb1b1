using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.FileProviders;

namespace QmpExporter.Configuration;

/// <summary>
/// What makes a configuration unusable before any value is validated: a settings file that cannot be read or parsed,
/// a value that does not convert to its setting's type, a <c>Vms</c> that is not a list, a VM key that is not a VM
/// setting. The configuration providers alone turn each of these into missing keys, and a missing VM list would
/// otherwise read as "no VMs".
/// </summary>
internal static class ConfigurationCheck
{
    private static readonly JsonDocumentOptions JsonOptions = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    private static readonly HashSet<string> VmKeys = new([nameof(VmOptions.Name), nameof(VmOptions.Socket)], StringComparer.OrdinalIgnoreCase);

    /// <summary>Makes the settings files load leniently: a broken file is reported here, by name, instead of thrown from a file watcher.</summary>
    public static void ReportLoadErrorsHere(IConfigurationBuilder builder)
    {
        foreach (var source in builder.Sources.OfType<FileConfigurationSource>())
        {
            source.OnLoadException = context => context.Ignore = true;
        }
    }

    /// <summary>The settings files that exist now: a reload that finds one of them gone keeps the previous VM list.</summary>
    public static HashSet<string> ExistingFiles(IConfiguration configuration) =>
        [.. Files(configuration).Where(File.Exists)];

    /// <summary>Every reason the configuration cannot be used; <paramref name="requiredFiles"/> must still exist.</summary>
    public static List<string> Errors(IConfiguration configuration, IReadOnlySet<string> requiredFiles)
    {
        var errors = new List<string>();
        foreach (var path in Files(configuration))
        {
            if (!File.Exists(path))
            {
                if (requiredFiles.Contains(path))
                {
                    errors.Add($"{path} was deleted or cannot be seen");
                }

                continue;
            }

            try
            {
                using var document = JsonDocument.Parse(File.ReadAllBytes(path), JsonOptions);
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                {
                    errors.Add($"{path} is not a JSON object");
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
            {
                errors.Add($"{path} cannot be read: {e.Message}");
            }
        }

        if (errors.Count > 0)
        {
            return errors;
        }

        var section = configuration.GetSection(ExporterOptions.Section);
        try
        {
            section.Get<ExporterOptions>();
        }
        catch (InvalidOperationException e)
        {
            errors.Add(e.Message);
        }

        var vms = section.GetSection(nameof(ExporterOptions.Vms));
        var entries = vms.GetChildren().ToList();
        if (vms.Value is { Length: > 0 } && entries.Count == 0)
        {
            errors.Add($"{vms.Path} must be a list of {{ \"Name\": ..., \"Socket\": ... }}, not '{vms.Value}'");
        }

        foreach (var entry in entries)
        {
            if (entry.Value is not null)
            {
                errors.Add($"{entry.Path} must be {{ \"Name\": ..., \"Socket\": ... }}, not '{entry.Value}'");
            }

            errors.AddRange(entry.GetChildren().Where(key => !VmKeys.Contains(key.Key)).Select(key => $"{key.Path} is not a VM setting (Name, Socket)"));
        }

        return errors;
    }

    /// <summary>Whether the configuration names a VM list at all, be it empty (<c>"Vms": []</c>).</summary>
    public static bool HasVmList(IConfiguration configuration) =>
        configuration.GetSection(ExporterOptions.Section).GetChildren().Any(c => string.Equals(c.Key, nameof(ExporterOptions.Vms), StringComparison.OrdinalIgnoreCase));

    private static IEnumerable<string> Files(IConfiguration configuration) =>
        configuration is IConfigurationRoot root
            ? root.Providers.OfType<FileConfigurationProvider>()
                .Select(p => p.Source.FileProvider is PhysicalFileProvider files && p.Source.Path is { } path ? Path.Combine(files.Root, path) : null)
                .OfType<string>()
            : [];
}
