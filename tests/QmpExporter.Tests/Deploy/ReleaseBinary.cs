using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Deploy;

/// <summary>
/// One scripts/publish.sh build shared by the package and image tests (a NativeAOT publish costs most of a minute),
/// into artifacts/test-release so it never replaces the operator's artifacts/aot. It shares publish.sh's build folder,
/// so a second run with unchanged sources skips the ILCompiler.
/// </summary>
internal static class ReleaseBinary
{
    private static readonly Lazy<Task<string>> Build = new(PublishAsync);

    public static Task<string> GetAsync() => Build.Value;

    private static async Task<string> PublishAsync()
    {
        var outDir = Repository.Path("artifacts", "test-release");
        await ExternalTool.RunCheckedAsync(
            Repository.Path("scripts", "publish.sh"),
            [outDir],
            timeout: TimeSpan.FromMinutes(10));
        return Path.Combine(outDir, "qmp-exporter");
    }
}
