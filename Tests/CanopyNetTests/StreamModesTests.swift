import CanopyCore
import CanopyMesh
import CanopyNet
import CanopyStream
import NIOCore
import XCTest

/// The playout delay a listener takes when not told one comes from the stream it joined:
/// a DONet mesh needs more slack than push or HAVE.
final class StreamModesTests: XCTestCase {
    func testDefaultPlayoutDelayFollowsTheStreamsModeAndScheduler() {
        let key = SourceKey()
        func info(_ mode: StreamMode, _ scheduler: MeshScheduler = .donet) -> StreamInfo {
            StreamInfo(streamID: key.streamID, publicKey: ByteBuffer(bytes: key.publicKeyBytes), mode: mode,
                       modeParameter: StreamModes.parameter(for: mode, scheduler: scheduler), chunkMicros: 20_000,
                       bitrateKbps: 64, preSkip: 312, source: NodeRef(id: key.streamID, address: PeerAddress(parsing: "127.0.0.1:7070")!))
        }
        XCTAssertEqual(StreamModes.defaultPlayoutDelay(for: info(.mesh, .donet)), .milliseconds(1_500))
        XCTAssertEqual(StreamModes.defaultPlayoutDelay(for: info(.mesh, .chainsaw)), .milliseconds(500))
        XCTAssertEqual(StreamModes.defaultPlayoutDelay(for: info(.tree)), .milliseconds(500))
        XCTAssertEqual(StreamModes.defaultPlayoutDelay(for: info(.direct)), .milliseconds(500))
        for mode in StreamMode.allCases {
            for scheduler in MeshScheduler.allCases {
                XCTAssertEqual(StreamModes.defaultPlayoutDelay(for: info(mode, scheduler)),
                               StreamModes.defaultPlayoutDelay(mode: mode, scheduler: scheduler), "\(mode) \(scheduler)")
            }
        }
    }
}
