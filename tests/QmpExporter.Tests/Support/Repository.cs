using Xunit.Sdk;

namespace QmpExporter.Tests.Support;

/// <summary>The repository the tests run from: the first folder above the test binaries holding QmpExporter.sln.</summary>
internal static class Repository
{
    private static readonly Lazy<string> RootDir = new(FindRoot);

    /// <summary>The repository root.</summary>
    public static string Root => RootDir.Value;

    /// <summary>A path inside the repository, e.g. <c>Repository.Path("deploy", "systemd")</c>.</summary>
    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "QmpExporter.sln")))
            {
                return dir.FullName;
            }
        }

        throw new XunitException($"no QmpExporter.sln above {AppContext.BaseDirectory}: run the tests from the repository");
    }
}
