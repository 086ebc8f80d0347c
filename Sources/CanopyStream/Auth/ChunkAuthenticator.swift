import Crypto
import CanopyCore
import NIOCore

/// Decides whether a chunk really comes from the stream's source. Peers run it before
/// they play or forward anything.
///
/// `.modeled` is the simulator's switch (DESIGN.md: the simulator may model verification
/// instead of running it): it checks the stream id only, so 100,000 simulated nodes do not
/// spend real CPU on Ed25519. Real nodes always use `.ed25519`.
/// `@unchecked Sendable`: the public key is immutable and verification is thread-safe.
public enum ChunkAuthenticator: @unchecked Sendable {
    case ed25519(Curve25519.Signing.PublicKey, streamID: StreamID)
    case modeled(streamID: StreamID)

    /// Builds the real verifier from a stream's announcement, refusing a key whose hash is
    /// not the stream id (a forged announcement).
    public init?(info: StreamInfo) {
        let keyBytes = Array(info.publicKey.readableBytesView)
        guard SourceKey.streamID(publicKey: keyBytes) == info.streamID,
              let key = try? Curve25519.Signing.PublicKey(rawRepresentation: keyBytes) else { return nil }
        self = .ed25519(key, streamID: info.streamID)
    }

    public var streamID: StreamID {
        switch self {
        case .ed25519(_, let id), .modeled(let id): id
        }
    }

    /// True when the chunk belongs to this stream and its signature is the source's.
    public func verify(_ chunk: Chunk) -> Bool {
        guard chunk.streamID == streamID, chunk.signature.readableBytes == Chunk.signatureSize else { return false }
        switch self {
        case .ed25519(let key, _):
            return key.isValidSignature(Array(chunk.signature.readableBytesView), for: chunk.signedBytes)
        case .modeled:
            return true
        }
    }
}

/// A chunk was refused; counted by the drivers, never delivered or forwarded.
public struct ChunkRejected: Observation {
    public enum Reason: String, Sendable { case badSignature = "bad_signature", wrongStream = "wrong_stream" }
    public let reason: Reason
    public let sequence: UInt32
    public init(reason: Reason, sequence: UInt32) {
        self.reason = reason
        self.sequence = sequence
    }
}
