/// Where a peer can be reached: an IPv4 host and a UDP port.
///
/// Cores treat it as an opaque handle. On real UDP it is the socket address; in the
/// simulator `host` is the node's index and `port` is 0. IPv6 is not carried yet.
public struct PeerAddress: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var host: UInt32
    public var port: UInt16

    public init(host: UInt32, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// The simulator's address for node `index`.
    public init(simulatedNode index: Int) {
        self.init(host: UInt32(index), port: 0)
    }

    /// The node index when this is a simulator address.
    public var simulatedIndex: Int { Int(host) }

    public static func < (a: PeerAddress, b: PeerAddress) -> Bool {
        a.host != b.host ? a.host < b.host : a.port < b.port
    }

    /// Parses `A.B.C.D:PORT`; `localhost` means 127.0.0.1.
    public init?(parsing text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else {
            return nil
        }
        var hostText = String(text[..<colon])
        if hostText == "localhost" { hostText = "127.0.0.1" }
        let parts = hostText.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var host: UInt32 = 0
        for part in parts {
            guard let byte = UInt8(part) else { return nil }
            host = host << 8 | UInt32(byte)
        }
        self.init(host: host, port: port)
    }

    /// Dotted-quad form, `A.B.C.D`.
    public var hostString: String {
        (0..<4).map { String((host >> UInt32(24 - 8 * $0)) & 0xFF) }.joined(separator: ".")
    }

    public var description: String { "\(hostString):\(port)" }
}

/// A peer as the overlay knows it: who (id) and where (address).
public struct NodeRef: Hashable, Sendable, CustomStringConvertible {
    public var id: NodeID
    public var address: PeerAddress

    public init(id: NodeID, address: PeerAddress) {
        self.id = id
        self.address = address
    }

    public var description: String { "\(id.short())@\(address)" }
}
