import CanopyAudio
import CanopyCore
import NIOCore

/// A listener, end to end: learn the stream from the bootstrap, start a node running
/// that mode's core with the playout on top, join, and on `stop` leave and complete
/// the output file. Shared by `canopy listen`, `canopy demo` and the tests.
public final class ListenerSession: Sendable {
    public let node: NodeDriver
    public let playout: ListenerPlayout
    public var info: StreamInfo { playout.info }

    private init(node: NodeDriver, playout: ListenerPlayout) {
        self.node = node
        self.playout = playout
    }

    /// - Parameters:
    ///   - bind: local address; port 0 for any.
    ///   - playoutDelay: nil for the stream's default (`StreamModes.defaultPlayoutDelay(for:)`),
    ///     known only once the bootstrap has described the stream.
    ///   - makeSink: builds the output once the stream (and its pre-skip) is known; nil for none.
    public static func start(bootstrap: PeerAddress, bind: PeerAddress, on group: any EventLoopGroup,
                             playoutDelay: TimeSpan?, uploadBytesPerSecond: Int? = nil,
                             infoTimeout: TimeSpan = .seconds(3),
                             makeSink: (StreamInfo) throws -> (any AudioSink)?) async throws -> ListenerSession {
        // One loop for the query and the node: each takes `group.next()`, so with two loops
        // every listener's node would land on the same one, and one thread carried a
        // 30-listener Chainsaw demo while the other idled.
        let loop = group.next()
        let info = try await InfoQuery.fetch(from: bootstrap, bindHost: bind.host, on: loop, timeout: infoTimeout)
        guard StreamModes.available.contains(info.mode) else { throw ModeUnavailable(mode: info.mode) }
        // A source bound to 0.0.0.0 announces host 0: reach it where we reached the bootstrap.
        let announced = info.source.address
        let clockPeer = announced.host == 0 ? PeerAddress(host: bootstrap.host, port: announced.port) : announced
        let delay = playoutDelay ?? StreamModes.defaultPlayoutDelay(for: info)
        let playout = try ListenerPlayout(info: info, clockPeer: clockPeer, delay: delay, sink: try makeSink(info))
        let configuration = NodeConfiguration(bind: bind, uploadBytesPerSecond: uploadBytesPerSecond)
        let node = try await NodeDriver.start(on: loop, configuration: configuration, application: playout) { identity in
            StreamModes.listenerCore(info: info, identity: identity,
                                     uploadKbps: uploadBytesPerSecond.map { Double($0) * 8 / 1000 }, playoutDelay: delay)
        }
        try await node.eventLoop.submit { playout.start(node: node) }.get()
        node.command(.join(bootstrap: bootstrap))
        return ListenerSession(node: node, playout: playout)
    }

    /// The figures so far.
    public func report() async throws -> ListenerReport {
        var report = try await node.eventLoop.submit { self.playout.report() }.get()
        report.node = try await node.counters()
        return report
    }

    /// Leaves the stream, completes the output and returns the final figures.
    public func stop() async throws -> ListenerReport {
        var report = try await node.eventLoop.submit { self.playout.finish() }.get()
        report.node = try await node.counters()
        await node.close()
        return report
    }
}
