import NIOCore
import CanopyCore

/// Sample envelopes of every stream-family kind, shared by the codec tests.
enum WireFixtures {
    static let sender = NodeID(hex: "00112233445566778899aabbccddeeff")!
    static let stream = NodeID(hex: "f0e1d2c3b4a5968778695a4b3c2d1e0f")!

    static let chunk = Chunk(streamID: stream, sequence: 7, generatedAt: 1_000_000,
                             payload: ByteBuffer(bytes: [0x00, 0x03, 0xFC, 0xFF, 0xFE]),
                             signature: ByteBuffer(repeating: 0xAB, count: 64))

    static let info = StreamInfo(streamID: stream, publicKey: ByteBuffer(repeating: 0x11, count: 32), mode: .tree,
                                 modeParameter: 16, chunkMicros: 20_000, bitrateKbps: 64, preSkip: 312,
                                 source: NodeRef(id: sender, address: PeerAddress(host: 0x7F00_0001, port: 7070)))

    static let messages: [Message] = [
        .stream(.chunk(chunk)),
        .stream(.infoRequest),
        .stream(.info(info)),
        .stream(.directJoin),
        .stream(.directLeave),
        .stream(.clockProbe(sentAt: 42)),
        .stream(.clockReply(probeSentAt: 42, answeredAt: -7)),
        .stream(.fragment(Fragment(messageID: 3, index: 1, count: 2, bytes: ByteBuffer(bytes: [9, 8, 7])))),
    ]

    static func envelopes() -> [Envelope] { messages.map { Envelope(sender: sender, message: $0) } }
}

extension ByteBuffer {
    var hexString: String { readableBytesView.map { String(format: "%02x", $0) }.joined() }

    init?(hex: String) {
        let digits = hex.filter { !$0.isWhitespace }
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        var index = digits.startIndex
        while index < digits.endIndex {
            let next = digits.index(index, offsetBy: 2)
            guard let byte = UInt8(digits[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        self.init(bytes: bytes)
    }
}

import Foundation
