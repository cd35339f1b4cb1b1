using QmpExporter.Qmp;

namespace QmpExporter.Tests.Qmp;

/// <summary>The socket spellings of QEMU's <c>-qmp</c> option, and the errors for the ones that cannot work.</summary>
public sealed class QmpEndpointTests
{
    [Theory]
    [InlineData("/run/qemu/web1.qmp", "/run/qemu/web1.qmp")]
    [InlineData("unix:/run/qemu/web1.qmp", "/run/qemu/web1.qmp")]
    [InlineData("  /run/qemu/web1.qmp  ", "/run/qemu/web1.qmp")]
    [InlineData("web1.qmp", "web1.qmp")]
    [InlineData("unix:odd:name.qmp", "odd:name.qmp")]
    public void Unix_socket_spellings_parse_to_the_path(string text, string path)
    {
        Assert.True(QmpEndpoint.TryParse(text, out var endpoint, out var error), error);

        Assert.True(endpoint.IsUnix);
        Assert.Equal(path, endpoint.UnixPath);
        Assert.Equal("unix:" + path, endpoint.ToString());
    }

    [Theory]
    [InlineData("tcp:localhost:4444", "localhost", 4444)]
    [InlineData("tcp:10.0.0.7:1", "10.0.0.7", 1)]
    [InlineData("tcp:[::1]:4444", "::1", 4444)]
    [InlineData("tcp:qemu-host.example:65535", "qemu-host.example", 65535)]
    public void Tcp_spellings_parse_to_host_and_port(string text, string host, int port)
    {
        Assert.True(QmpEndpoint.TryParse(text, out var endpoint, out var error), error);

        Assert.False(endpoint.IsUnix);
        Assert.Equal(host, endpoint.Host);
        Assert.Equal(port, endpoint.Port);
    }

    [Theory]
    [InlineData(null, "is empty")]
    [InlineData("", "is empty")]
    [InlineData("   ", "is empty")]
    [InlineData("unix:", "neither")]
    [InlineData("tcp:localhost", "port from 1 to 65535")]
    [InlineData("tcp:localhost:0", "port from 1 to 65535")]
    [InlineData("tcp:localhost:65536", "port from 1 to 65535")]
    [InlineData("tcp:localhost:44x", "port from 1 to 65535")]
    [InlineData("tcp:localhost:-1", "port from 1 to 65535")]
    [InlineData("tcp::4444", "port from 1 to 65535")]
    [InlineData("host:4444", "neither")]
    [InlineData("unix:/run/qemu/web1.qmp,server=on,wait=off", "chardev options")]
    [InlineData("/run/qemu/web1.qmp,server,nowait", "chardev options")]
    public void Bad_spellings_are_rejected_with_a_reason(string? text, string reason)
    {
        Assert.False(QmpEndpoint.TryParse(text, out var endpoint, out var error));

        Assert.Null(endpoint);
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_path_longer_than_sun_path_allows_is_rejected_and_the_longest_allowed_is_accepted()
    {
        var longest = "/" + new string('a', QmpEndpoint.MaxUnixPathBytes - 1);
        var tooLong = longest + "a";

        Assert.True(QmpEndpoint.TryParse(longest, out _, out _));
        Assert.True(QmpEndpoint.TryParse("unix:" + longest, out _, out _));
        Assert.False(QmpEndpoint.TryParse(tooLong, out _, out var error));
        Assert.Contains("longer than the 107 bytes", error, StringComparison.Ordinal);
    }

    [Fact]
    public void The_path_limit_counts_UTF8_bytes_not_characters()
    {
        // "/" and 53 two-byte characters: 107 bytes, the most sun_path holds; one character more is 109 bytes.
        Assert.True(QmpEndpoint.TryParse("/" + new string('é', 53), out _, out _));
        Assert.False(QmpEndpoint.TryParse("/" + new string('é', 54), out _, out var error));
        Assert.Contains("bytes", error, StringComparison.Ordinal);
    }
}
