import CanopyAudio
import CanopyCore
import CanopyNet
import CanopyStream
import Foundation
import NIOCore
import NIOPosix
import XCTest

let loopback = PeerAddress(parsing: "127.0.0.1:0")!

/// Keeps every played frame in memory, for correlating with what the source sent.
/// `@unchecked Sendable`: written on the listener's loop, read by the test after `stop`,
/// always under the lock.
final class CapturingSink: AudioSink, @unchecked Sendable {
    private let lock = NSLock()
    private var samples: [Int16] = []
    private(set) var finished = false

    func write(pcm: [Int16]) throws { lock.withLock { samples.append(contentsOf: pcm) } }
    func finish() throws { lock.withLock { finished = true } }
    var pcm: [Int16] { lock.withLock { samples } }
}

/// A source playing the test music and `count` listeners on loopback, all on one group.
struct LoopbackStream {
    let group: MultiThreadedEventLoopGroup
    let key: SourceKey
    let source: SourceSession
    let listeners: [ListenerSession]
    let sinks: [CapturingSink]

    static func start(listeners count: Int, seconds: Double, delay: TimeSpan = .milliseconds(Int64(300))) async throws -> LoopbackStream {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let key = SourceKey()
        let source = try await SourceSession.start(bind: loopback, on: group, key: key, mode: .direct,
                                                   audio: TestSignal(kind: .music, seconds: seconds), bitrateKbps: 64)
        var listeners: [ListenerSession] = []
        var sinks: [CapturingSink] = []
        for _ in 0..<count {
            let sink = CapturingSink()
            listeners.append(try await ListenerSession.start(bootstrap: source.node.localAddress, bind: loopback, on: group,
                                                             playoutDelay: delay) { _ in sink })
            sinks.append(sink)
        }
        return LoopbackStream(group: group, key: key, source: source, listeners: listeners, sinks: sinks)
    }

    /// Waits for the source's input to end and the listeners' buffers to play out, then
    /// stops everything and returns the listeners' reports.
    func finish(playout: TimeSpan = .milliseconds(Int64(300))) async throws -> [ListenerReport] {
        _ = try await source.waitUntilDone()
        try await Task.sleep(nanoseconds: UInt64(playout.micros + 300_000) * 1_000)
        var reports: [ListenerReport] = []
        for listener in listeners { reports.append(try await listener.stop()) }
        try await source.stop()
        try await group.shutdownGracefully()
        return reports
    }
}

/// A bare UDP socket for throwing datagrams at nodes.
struct RawSocket {
    let channel: any Channel

    static func open(on group: any EventLoopGroup) async throws -> RawSocket {
        let channel = try await DatagramBootstrap(group: group).bind(host: "127.0.0.1", port: 0).get()
        return RawSocket(channel: channel)
    }

    func send(_ bytes: [UInt8], to address: PeerAddress) {
        let remote = try! SocketAddress(ipAddress: address.hostString, port: Int(address.port))
        channel.write(AddressedEnvelope(remoteAddress: remote, data: ByteBuffer(bytes: bytes)), promise: nil)
    }

    func flush() { channel.flush() }
    func close() async { try? await channel.close() }
}
