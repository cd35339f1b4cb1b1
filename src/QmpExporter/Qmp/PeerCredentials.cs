using System.Runtime.InteropServices;
using System.Net.Sockets;

namespace QmpExporter.Qmp;

/// <summary>Who is at the other end of a unix socket: the kernel's SO_PEERCRED, taken when the connection was made.</summary>
internal static class PeerCredentials
{
    private const int SolSocket = 1;
    private const int SoPeerCred = 17;

    /// <summary>The peer's pid, 0 when the socket is not a unix socket or the peer is in a pid namespace we cannot see.</summary>
    public static int Pid(Socket socket)
    {
        if (socket.AddressFamily != AddressFamily.Unix || !OperatingSystem.IsLinux())
        {
            return 0;
        }

        // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
        Span<byte> ucred = stackalloc byte[12];
        try
        {
            return socket.GetRawSocketOption(SolSocket, SoPeerCred, ucred) >= 4 ? MemoryMarshal.Read<int>(ucred) : 0;
        }
        catch (SocketException)
        {
            return 0;
        }
    }
}
