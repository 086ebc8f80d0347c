import Crypto
import CanopyCore
import NIOCore
import Foundation

/// The source's signing identity. The stream id is the hash of its public key, so
/// whoever holds the id can tell the real source's chunks from anyone else's.
/// `@unchecked Sendable`: the key is immutable after creation and swift-crypto's signing
/// is safe to call from any thread; the type only lacks the annotation.
public struct SourceKey: @unchecked Sendable {
    public let privateKey: Curve25519.Signing.PrivateKey

    public init(privateKey: Curve25519.Signing.PrivateKey = .init()) {
        self.privateKey = privateKey
    }

    /// A key from 32 raw bytes (the `keygen` file format).
    public init(rawRepresentation: Data) throws {
        privateKey = try Curve25519.Signing.PrivateKey(rawRepresentation: rawRepresentation)
    }

    public var publicKeyBytes: [UInt8] { Array(privateKey.publicKey.rawRepresentation) }

    /// First 16 bytes of SHA-256 of the public key.
    public var streamID: StreamID { Self.streamID(publicKey: publicKeyBytes) }

    public static func streamID(publicKey: some Sequence<UInt8>) -> StreamID {
        NodeID(hashBytes: Array(SHA256.hash(data: Array(publicKey))))
    }

    /// Signs a chunk in place (see `Chunk.signedBytes`).
    public func sign(_ chunk: inout Chunk) throws {
        let signature = try privateKey.signature(for: chunk.signedBytes)
        chunk.signature = ByteBuffer(bytes: signature)
    }

    /// Generates a fresh key and writes its 32 raw bytes to `path` with mode 0600; or,
    /// when the file already exists, reads it. One key file = one stable stream id.
    public static func loadOrCreate(at path: String) throws -> SourceKey {
        let manager = FileManager.default
        if manager.fileExists(atPath: path) {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            guard data.count == 32 else {
                throw KeyFileError(message: "\(path) is not a Canopy key (expected 32 bytes, found \(data.count)); create one with `canopy keygen --out \(path)`")
            }
            return try SourceKey(rawRepresentation: data)
        }
        let key = SourceKey()
        guard manager.createFile(atPath: path, contents: key.privateKey.rawRepresentation,
                                 attributes: [.posixPermissions: 0o600]) else {
            throw KeyFileError(message: "cannot write key file \(path); check that its directory exists and is writable")
        }
        return key
    }
}

/// A key file problem, worded for the person at the terminal.
public struct KeyFileError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
