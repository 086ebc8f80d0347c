import XCTest
import NIOCore
import Foundation
import CanopyCore
import CanopyStream

final class SigningTests: XCTestCase {
    private func signedChunk(_ key: SourceKey, sequence: UInt32 = 1) throws -> Chunk {
        var chunker = LiveChunker(key: key, framesPerChunk: 2)
        XCTAssertNil(try chunker.add(frame: [1, 2, 3], now: 100))
        var chunk = try XCTUnwrap(try chunker.add(frame: [4, 5], now: 120))
        chunk.sequence = sequence
        try key.sign(&chunk)
        return chunk
    }

    private func info(for key: SourceKey) -> StreamInfo {
        StreamInfo(streamID: key.streamID, publicKey: ByteBuffer(bytes: key.publicKeyBytes), mode: .direct,
                   modeParameter: 0, chunkMicros: 20_000, bitrateKbps: 64, preSkip: 312,
                   source: NodeRef(id: key.streamID, address: PeerAddress(host: 1, port: 1)))
    }

    func testChunkerPacksFramesAndSigns() throws {
        let key = SourceKey()
        let chunk = try signedChunk(key)
        XCTAssertEqual(chunk.generatedAt, 100, "a chunk is stamped with its first frame's time")
        XCTAssertEqual(ChunkPayload.unpack(chunk.payload), [[1, 2, 3], [4, 5]])
        let auth = try XCTUnwrap(ChunkAuthenticator(info: info(for: key)))
        XCTAssertTrue(auth.verify(chunk))
    }

    func testTamperedAndForgedChunksAreRejected() throws {
        let key = SourceKey()
        let auth = try XCTUnwrap(ChunkAuthenticator(info: info(for: key)))
        var chunk = try signedChunk(key)
        var tampered = chunk
        tampered.payload = ByteBuffer(bytes: [0, 1, 9])
        XCTAssertFalse(auth.verify(tampered))
        var renumbered = chunk
        renumbered.sequence += 1
        XCTAssertFalse(auth.verify(renumbered))
        let forger = SourceKey()
        try forger.sign(&chunk)   // right stream id, someone else's signature
        XCTAssertFalse(auth.verify(chunk))
        XCTAssertFalse(auth.verify(try signedChunk(forger)), "another stream's chunk")
    }

    func testAnnouncementWithWrongKeyIsRefused() {
        var forged = info(for: SourceKey())
        forged.publicKey = ByteBuffer(bytes: SourceKey().publicKeyBytes)
        XCTAssertNil(ChunkAuthenticator(info: forged))
    }

    func testKeyFileIsPrivateAndReused() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-key-\(UUID()).key").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let first = try SourceKey.loadOrCreate(at: path)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o600)
        XCTAssertEqual(try SourceKey.loadOrCreate(at: path).streamID, first.streamID)
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try SourceKey.loadOrCreate(at: path)) {
            XCTAssertTrue("\($0)".contains("canopy keygen"), "\($0)")
        }
    }
}
