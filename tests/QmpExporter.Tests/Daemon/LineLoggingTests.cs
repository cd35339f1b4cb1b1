using Microsoft.Extensions.Logging;
using QmpExporter.Hosting;

namespace QmpExporter.Tests.Daemon;

public sealed class LineLoggingTests
{
    [Fact]
    public void A_list_field_is_written_as_its_items_in_logfmt_and_json()
    {
        foreach (var format in (LogFormat[])[LogFormat.Logfmt, LogFormat.Json])
        {
            using var output = new StringWriter();
            using var provider = new LineLoggerProvider(format, journald: false, output);
            var logger = provider.CreateLogger("test");
            string[] added = ["web1", "db1"];
            string[] removed = [];
            Log.VmsChanged(logger, added.Length, added, removed);

            Assert.Contains("web1, db1", output.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain("System.", output.ToString(), StringComparison.Ordinal);
        }
    }
}
