using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace QmpExporter.Libvirt;

/// <summary>Registers the libvirt source; it does nothing unless QmpExporter:Libvirt:Uri is set.</summary>
internal static class LibvirtServices
{
    public static void Add(IServiceCollection services)
    {
        services.AddOptions<LibvirtOptions>().BindConfiguration(LibvirtOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<LibvirtOptions>, LibvirtOptionsValidator>();
        services.AddSingleton<LibvirtSource>();
        services.AddHostedService(sp => sp.GetRequiredService<LibvirtSource>());
    }
}
