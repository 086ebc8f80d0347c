import Foundation
import XCTest
import NIOCore
import CanopyCore

/// `have`, `request` and `refuse` carry 1...64 sequence numbers (docs/PROTOCOL.md §7.1):
/// the decoder accepts exactly those lists, and the encoder refuses to write any other.
final class MeshSequenceListTests: XCTestCase {
    /// Every count byte 0...255: accepted exactly when 1...64, and then re-encoded byte for
    /// byte with an exact size.
    func testDecoderAcceptsExactlyOneToSixtyFourNumbers() throws {
        for (type, prefix) in [(UInt8(0xC7), [UInt8(0x00), 0x40, 0x18]), (0xC8, []), (0xC9, [])] {
            for count in 0...255 {
                var datagram = ByteBuffer()
                datagram.writeInteger(WireHeader.shortMagic)
                datagram.writeInteger(WireHeader.version)
                datagram.writeInteger(type)
                datagram.writeBytes(prefix)
                datagram.writeInteger(UInt8(count))
                for sequence in 0..<UInt32(count) { datagram.writeInteger(1_000 + sequence) }
                let label = String(format: "type 0x%02X, %d numbers", type, count)
                if (1...64).contains(count) {
                    let envelope = try Envelope.decode(datagram)
                    XCTAssertEqual(envelope.encoded(), datagram, label)
                    XCTAssertEqual(envelope.encodedSize, datagram.readableBytes, label)
                } else {
                    XCTAssertThrowsError(try Envelope.decode(datagram), label) { error in
                        XCTAssertEqual((error as? WireError)?.reason, "invalid_field", label)
                    }
                }
            }
        }
    }

    /// Encoding a list the decoder would refuse stops the sender (a precondition), instead of
    /// sending bytes every receiver drops (0, 65...255 numbers) or trapping on a truncated
    /// count (256 and more). A trap cannot be caught in-process, so each case runs this test
    /// again in a child process that only encodes, and must die there.
    func testEncoderTrapsOnListsTheDecoderRefuses() throws {
        let variable = "CANOPY_ENCODE_SEQUENCE_COUNT"
        if let count = ProcessInfo.processInfo.environment[variable].flatMap(Int.init) {
            _ = Envelope(sender: WireFixtures.sender, message: .mesh(.request(Array(repeating: 7, count: count)))).encoded()
            return   // the encoder let the list through: a clean exit, which the parent reports
        }
        let binary = try XCTUnwrap(Bundle.main.executableURL)
        for count in [0, 65, 255, 256] {
            let child = Process()
            child.executableURL = binary
            child.arguments = ["CanopyCoreTests.MeshSequenceListTests/testEncoderTrapsOnListsTheDecoderRefuses"]
            var environment = ProcessInfo.processInfo.environment
            environment[variable] = String(count)
            environment["SWIFT_BACKTRACE"] = "enable=no"
            child.environment = environment
            child.standardOutput = FileHandle.nullDevice
            child.standardError = FileHandle.nullDevice
            try child.run()
            child.waitUntilExit()
            XCTAssertEqual(child.terminationReason, .uncaughtSignal, "encoding \(count) numbers must trap")
        }
        for count in [1, 64] {
            let message = Message.mesh(.request((0..<UInt32(count)).map { $0 }))
            let bytes = Envelope(sender: WireFixtures.sender, message: message).encoded()
            XCTAssertEqual(try Envelope.decode(bytes).encoded(), bytes, "\(count) numbers round-trip")
        }
    }
}
