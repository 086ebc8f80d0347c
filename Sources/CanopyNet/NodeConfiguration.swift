import CanopyCore

/// How to run one node on a real socket.
public struct NodeConfiguration: Sendable {
    /// Address to bind: `127.0.0.1` or `0.0.0.0` (host 0); port 0 picks a free one.
    public var bind: PeerAddress
    public var nodeID: NodeID
    /// Upload limit enforced by the pacer; nil = unlimited.
    public var uploadBytesPerSecond: Int?
    /// Bounds on fragment reassembly (per node, over all peers).
    public var maxPendingReassemblies = 256

    public init(bind: PeerAddress, nodeID: NodeID = .systemRandom(), uploadBytesPerSecond: Int? = nil) {
        self.bind = bind
        self.nodeID = nodeID
        self.uploadBytesPerSecond = uploadBytesPerSecond
    }

    /// Upload limit from a `--upload-kbps` value (kbit/s).
    public static func bytesPerSecond(kbps: Int?) -> Int? {
        kbps.map { $0 * 1000 / 8 }
    }
}

extension NodeID {
    /// A fresh id from the system RNG, for a listener that has no key to hash.
    public static func systemRandom() -> NodeID {
        var rng = SystemRandomNumberGenerator()
        return NodeID(high: rng.next(), low: rng.next())
    }
}

extension SeededRNG {
    /// A generator seeded from the system RNG: real nodes need unpredictability, the
    /// simulator passes fixed seeds instead.
    static func systemSeeded() -> SeededRNG {
        var system = SystemRandomNumberGenerator()
        return SeededRNG(seed: system.next())
    }
}
