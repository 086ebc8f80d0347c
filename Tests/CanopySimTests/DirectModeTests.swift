import CanopySim
import XCTest

/// Direct mode is the baseline every other mode is measured against: RDP 1.0 when the
/// source's upload is ample, and a source-upload bottleneck when it is not.
final class DirectModeTests: XCTestCase {
    /// 1,000 listeners, 64 kbit/s in 40-ms chunks (434 bytes on the wire each), 30 s:
    /// the source needs 86.8 Mbit/s.
    func scenario(sourceUploadKbps: Int) -> String {
        """
        {"seed": 7, "nodes": 1001, "mode": "direct", "upload_kbps": 256, "source_upload_kbps": \(sourceUploadKbps),
         "stream": {"bitrate_kbps": 64, "chunk_ms": 40, "seconds": 30}, "join": {"over_s": 10}}
        """
    }

    func testAmpleSourceUploadPlaysEverything() throws {
        let report = try runScenario(scenario(sourceUploadKbps: 100_000))
        XCTAssertGreaterThanOrEqual(number(report, "continuity", "2"), 0.99)
        XCTAssertGreaterThanOrEqual(number(report, "delivery_ratio"), 0.99)
        XCTAssertEqual(number(report, "duplicate_ratio"), 0)
        // Listeners only refresh their join every 5 s: control traffic is a sliver.
        XCTAssertGreaterThan(number(report, "control_overhead"), 0)
        XCTAssertLessThan(number(report, "control_overhead"), 0.01)
    }

    func testSourceUploadBottleneck() throws {
        let report = try runScenario(scenario(sourceUploadKbps: 10_000))
        XCTAssertLessThan(number(report, "continuity", "2"), 0.5)
    }

    /// With a link far faster than the stream, each chunk reaches each listener after the
    /// bare one-way delay: the physical floor.
    func testRDPIsOneWithAmpleUpload() throws {
        let report = try runScenario(scenario(sourceUploadKbps: 100_000_000))
        XCTAssertEqual(number(report, "rdp_mean"), 1.0, accuracy: 0.01)
        XCTAssertEqual(number(report, "continuity", "0.25"), 1.0)
        XCTAssertEqual(number(report, "gapless", "0.25"), 1.0)
    }

    /// Header overhead is exactly the wire format's: 20-byte header + 94 bytes of chunk
    /// fields over a 320-byte payload.
    func testHeaderOverheadIsTheWireFormat() throws {
        let report = try runScenario("""
            {"nodes": 11, "mode": "direct", "stream": {"bitrate_kbps": 64, "chunk_ms": 40, "seconds": 5}, "join": {"over_s": 1}}
            """)
        XCTAssertEqual(number(report, "header_overhead"), 114.0 / 320.0, accuracy: 1e-6)
    }
}
