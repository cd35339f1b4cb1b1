using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace QmpExporter.Web;

/// <summary>A certificate, key or CA file that cannot be used; the message names the file.</summary>
internal sealed class CertificateException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The server certificate (with the intermediates of its PEM file), its key and the client CAs, as loaded, plus the
/// files' timestamps and sizes, so that a renewal on disk is noticed without a restart.
/// </summary>
internal sealed class TlsMaterial
{
    private readonly string[] files;
    private (DateTime Written, long Length)[] stamps;

    private TlsMaterial(SslStreamCertificateContext certificate, X509Certificate2Collection? clientCas, string[] files, (DateTime, long)[] stamps, string subject, DateTime notAfter)
    {
        Certificate = certificate;
        ClientCas = clientCas;
        this.files = files;
        this.stamps = stamps;
        Subject = subject;
        NotAfter = notAfter;
    }

    public SslStreamCertificateContext Certificate { get; }

    public X509Certificate2Collection? ClientCas { get; }

    public string Subject { get; }

    public DateTime NotAfter { get; }

    /// <exception cref="CertificateException">A file is missing, unreadable, or not a PEM certificate or key.</exception>
    public static TlsMaterial Load(TlsSettings settings)
    {
        string[] files = settings.ClientCaFile is { } ca ? [settings.CertFile, settings.KeyFile, ca] : [settings.CertFile, settings.KeyFile];
        var stamps = Stamps(files);
        try
        {
            var chain = new X509Certificate2Collection();
            chain.ImportFromPemFile(settings.CertFile);
            if (chain.Count == 0)
            {
                throw new CertificateException($"certificate {settings.CertFile}: no PEM certificate in it");
            }

            var leaf = X509Certificate2.CreateFromPemFile(settings.CertFile, settings.KeyFile);
            var context = SslStreamCertificateContext.Create(leaf, [.. chain.Skip(1)], offline: true);
            X509Certificate2Collection? cas = null;
            if (settings.ClientCaFile is { } caFile)
            {
                cas = [];
                cas.ImportFromPemFile(caFile);
                if (cas.Count == 0)
                {
                    throw new CertificateException($"client CA file {caFile}: no PEM certificate in it");
                }
            }

            return new TlsMaterial(context, cas, files, stamps, leaf.Subject, leaf.NotAfter.ToUniversalTime());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            throw new CertificateException($"cannot load the TLS certificate {settings.CertFile} with key {settings.KeyFile}: {e.Message}", e);
        }
    }

    public bool FilesChanged()
    {
        try
        {
            return !Stamps(files).SequenceEqual(stamps);
        }
        catch (CertificateException)
        {
            return true;
        }
    }

    /// <summary>Takes the files as they are now as seen, so that a failed reload is retried only after the next change.</summary>
    public void AcceptCurrentFiles()
    {
        try
        {
            stamps = Stamps(files);
        }
        catch (CertificateException)
        {
            // A file is gone for now: it will count as changed once it is back.
        }
    }

    private static (DateTime, long)[] Stamps(string[] files) => files.Select(file =>
    {
        var info = new FileInfo(file);
        return info.Exists ? (info.LastWriteTimeUtc, info.Length) : throw new CertificateException($"{file} does not exist");
    }).ToArray();
}
