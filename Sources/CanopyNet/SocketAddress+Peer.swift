import CanopyCore
import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension PeerAddress {
    /// The IPv4 socket address, built without string parsing (this runs per datagram).
    var socketAddress: SocketAddress {
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = port.bigEndian
        sin.sin_addr.s_addr = host.bigEndian
        return SocketAddress(sin, host: "")
    }

    /// Nil for anything but IPv4: Canopy's wire format carries IPv4 addresses only.
    init?(_ address: SocketAddress?) {
        guard case .v4(let v4)? = address else { return nil }
        self.init(host: UInt32(bigEndian: v4.address.sin_addr.s_addr), port: UInt16(bigEndian: v4.address.sin_port))
    }
}
