using System.Buffers.Binary;

namespace QmpExporter.Tests.Support;

/// <summary>
/// The 512-byte real-mode boot sector from /work/shared/qemu/qemu_events.py (<c>BOOT_HEX</c>, <c>boot_sector()</c>) that
/// makes a guest-less QEMU raise guest-side events: SeaBIOS loads it ~70 ms after spawn. Plain data: the bytes are
/// the nasm output of <c>BOOT_ASM</c> there; only the parameter bytes 3..28 are patched here.
/// </summary>
internal static class BootSector
{
    /// <summary>Flag bits (byte 3).</summary>
    public const byte Read = 1;          // int13 read LBA 1
    public const byte Write = 2;         // int13 write LBA 1
    public const byte Rtc = 4;           // CMOS RTC minutes += 10
    public const byte Watchdog = 8;      // arm ib700 with 0 s (port 0x443)
    public const byte Panic = 16;        // write panicval to ISA pvpanic port 0x505
    public const byte Acpi = 32;         // write pm1val to PIIX4 PM1a_CNT
    public const byte Reset = 64;        // reset via port 0xcf9
    public const byte Loop = 128;        // repeat every `ticks` BIOS ticks, dirtying dirtysegs x 64 KiB of RAM

    /// <summary>Size the image is padded to, as in the reference script.</summary>
    public const int ImageBytes = 1 << 20;

    private const string Hex =
        "eb1b900001002000090000000000000000000000000000000000000000fa31c08ed88ec08ed0bc007cfb8816e17db042" +
        "e8a7018a1e037cf6c3017405b402e8b400f6c3027405b403e8aa00f6c3047414b002e670e4710410245f86c4b002e670" +
        "86c4e671f6c3087406ba4304b00feef6c3107407ba0505a0047ceef6c320741866b8400b0080baf80c66efb2fc66ed24" +
        "c0040492a1057ceff6c3407406baf90cb006ee803e097c007403e86200f606037c8074388a0e077cbb001084c9741551" +
        "8ec331ffa16c04b90080f3ab5980c710fec9ebe731c08ec08b1e6c04fbf4a16c0429d83a06087c72f3e942ffb048e8e9" +
        "00faf4ebfc53b001b9020030f68a16e17dbb007ecd13b0721400e8cd005bc3660fb61e097c66c1e30b6681cb04000080" +
        "6689d8baf80c66efb2fced0c07efb3106689d8b2f866efb2fc66ed24fc89c58d561230c0eeb003ee8d560466a10b7c66" +
        "ef8d560e0fb6060a7cef8d560cedc1e00493066800300731ff31c0b90020f3ab26c606010005a00f7c26a2080026c606" +
        "0c000126c6060e000126c7061000100526c60618000126c6061c000226c647020107be107cbf0005b90800f3a48d5608" +
        "66b83000000066ef8d5612b007ee8d56100fb6060a7cef0fb616187c85d2740801ea66a1197c66efb07652baf803ee5a" +
        "c3000000000000000000000000000000000000000000000000000000000055aa";

    /// <summary>The boot sector with its parameter bytes patched (offsets: README section 2).</summary>
    public static byte[] Create(byte flags = 0, byte panicval = 1, ushort pm1val = 0x2000, byte dirtysegs = 0, byte ticks = 9,
        byte vdev = 0, byte vq = 0, uint vfeat = 0, ReadOnlySpan<byte> vcmd = default, byte vcfgoff = 0, uint vcfgval = 0)
    {
        if (vcmd.Length > 8)
        {
            throw new ArgumentOutOfRangeException(nameof(vcmd), "at most 8 bytes");
        }

        var bs = Convert.FromHexString(Hex);
        if (bs.Length != 512 || bs[510] != 0x55 || bs[511] != 0xaa)
        {
            throw new InvalidOperationException("the embedded boot sector is damaged");
        }

        bs[3] = flags;
        bs[4] = panicval;
        BinaryPrimitives.WriteUInt16LittleEndian(bs.AsSpan(5), pm1val);
        bs[7] = dirtysegs;
        bs[8] = ticks;
        bs[9] = vdev;
        bs[10] = vq;
        BinaryPrimitives.WriteUInt32LittleEndian(bs.AsSpan(11), vfeat);
        bs[15] = (byte)vcmd.Length;
        vcmd.CopyTo(bs.AsSpan(16));
        bs[24] = vcfgoff;
        BinaryPrimitives.WriteUInt32LittleEndian(bs.AsSpan(25), vcfgval);
        return bs;
    }

    /// <summary>Writes <paramref name="sector"/> padded with zeros to <see cref="ImageBytes"/>: a raw disk image.</summary>
    public static void WriteImage(string path, ReadOnlySpan<byte> sector)
    {
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write);
        file.Write(sector);
        file.SetLength(ImageBytes);
    }
}
