using System.Runtime.InteropServices;
using Microsoft.Extensions.Options;
using QmpExporter.Configuration;

namespace QmpExporter.Libvirt;

/// <summary>The <c>QmpExporter:Libvirt</c> section: watch every domain of a libvirt daemon through libvirt's own event relay.</summary>
internal sealed class LibvirtOptions
{
    public const string Section = ExporterOptions.Section + ":Libvirt";
    public const string DefaultUri = "qemu:///system";

    /// <summary>The libvirt connection URI; unset (the default) leaves libvirt alone.</summary>
    public string? Uri { get; set; }
}

/// <summary>Checks at start-up, when the libvirt source is configured, that libvirt's client libraries load.</summary>
internal sealed class LibvirtOptionsValidator : IValidateOptions<LibvirtOptions>
{
    public ValidateOptionsResult Validate(string? name, LibvirtOptions options)
    {
        if (string.IsNullOrEmpty(options.Uri))
        {
            return ValidateOptionsResult.Success;
        }

        var errors = new List<string>();
        foreach (var library in (string[])[LibvirtNative.Library, LibvirtNative.QemuLibrary])
        {
            if (!NativeLibrary.TryLoad(library, out var handle))
            {
                errors.Add($"{LibvirtOptions.Section}:Uri is set ('{options.Uri}') but libvirt's client library {library} cannot be loaded: install it (Debian: apt-get install libvirt0)");
                continue;
            }

            NativeLibrary.Free(handle);
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
