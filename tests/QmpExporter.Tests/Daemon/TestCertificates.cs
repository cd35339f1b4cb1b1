using QmpExporter.Tests.Support;

namespace QmpExporter.Tests.Daemon;

/// <summary>A self-signed CA made with openssl in a temp folder, and certificates it signs for 127.0.0.1/localhost.</summary>
internal sealed class TestCertificates(string directory)
{
    public string CaFile => Path.Combine(directory, "ca.crt");

    public async Task CreateCaAsync()
    {
        await ExternalTool.RunCheckedAsync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", Path.Combine(directory, "ca.key"), "-out", CaFile, "-subj", "/CN=QmpExporter test CA", "-days", "2"]);
    }

    /// <summary>Writes NAME.crt and NAME.key, signed by the CA, and returns their paths.</summary>
    public async Task<(string Cert, string Key)> IssueAsync(string name, string commonName, bool client = false)
    {
        var cert = Path.Combine(directory, name + ".crt");
        var key = Path.Combine(directory, name + ".key");
        var csr = Path.Combine(directory, name + ".csr");
        var extensions = Path.Combine(directory, name + ".ext");
        await File.WriteAllTextAsync(extensions, client ? "extendedKeyUsage=clientAuth\n" : "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
        await ExternalTool.RunCheckedAsync("openssl", ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", csr, "-subj", "/CN=" + commonName]);
        await ExternalTool.RunCheckedAsync("openssl", ["x509", "-req", "-in", csr, "-CA", CaFile, "-CAkey", Path.Combine(directory, "ca.key"),
            "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", extensions]);
        return (cert, key);
    }
}
