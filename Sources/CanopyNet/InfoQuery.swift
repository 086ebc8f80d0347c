import CanopyCore
import NIOCore

/// The first thing a listener does: ask its bootstrap which stream this is and how it is
/// spread (`infoRequest` → `info`), retrying a few times. A tiny core of its own, so it
/// runs on the same driver as everything else.
struct InfoQueryCore: ProtocolCore {
    let identity: NodeRef
    let retryInterval: TimeSpan
    private var bootstrap: PeerAddress?
    private var answered = false

    static let retryTimer = TimerKey(kind: 0x1F0)

    init(identity: NodeRef, retryInterval: TimeSpan = .milliseconds(Int64(250))) {
        self.identity = identity
        self.retryInterval = retryInterval
    }

    mutating func handle(_ event: Event, now: Instant, rng: inout SeededRNG, effects: inout Effects) {
        switch event {
        case .command(.join(let address?)):
            bootstrap = address
            effects.send(.stream(.infoRequest), to: address)
            effects.setTimer(Self.retryTimer, at: now + retryInterval)
        case .timer(Self.retryTimer):
            guard let bootstrap, !answered else { return }
            effects.send(.stream(.infoRequest), to: bootstrap)
            effects.setTimer(Self.retryTimer, at: now + retryInterval)
        case .received(.stream(.info(let info)), let from, _):
            guard from == bootstrap, !answered else { return }
            answered = true
            effects.cancelTimer(Self.retryTimer)
            effects.observe(StreamInfoLearned(info: info))
        default:
            break
        }
    }
}

/// The bootstrap answered with the stream's description.
public struct StreamInfoLearned: Observation {
    public let info: StreamInfo
}

/// The bootstrap did not answer in time.
public struct BootstrapUnreachable: Error, CustomStringConvertible {
    public let address: PeerAddress
    public let timeout: TimeSpan
    public var description: String {
        "no answer from \(address) within \(Int(timeout.seconds)) s — check that `canopy source` (or a listener) is running there and that UDP port \(address.port) is reachable"
    }
}

/// Asks `bootstrap` for its stream's `StreamInfo` from a short-lived socket.
public enum InfoQuery {
    public static func fetch(from bootstrap: PeerAddress, bindHost: UInt32, on group: any EventLoopGroup,
                             timeout: TimeSpan = .seconds(3)) async throws -> StreamInfo {
        let waiter = InfoWaiter()
        let node = try await NodeDriver.start(on: group, configuration: NodeConfiguration(bind: PeerAddress(host: bindHost, port: 0)),
                                              application: waiter) { InfoQueryCore(identity: $0) }
        let promise = node.eventLoop.makePromise(of: StreamInfo.self)
        node.eventLoop.execute { waiter.promise = promise }
        node.command(.join(bootstrap: bootstrap))
        node.eventLoop.scheduleTask(in: .microseconds(timeout.micros)) {
            waiter.complete(.failure(BootstrapUnreachable(address: bootstrap, timeout: timeout)))
        }
        let result = await Result(catching: { try await promise.futureResult.get() })
        await node.close()
        withExtendedLifetime(waiter) {}
        return try result.get()
    }
}

/// Completes the query's promise; confined to the query node's loop.
/// `@unchecked Sendable`: `promise` is set and read only on that loop.
private final class InfoWaiter: NodeApplication, @unchecked Sendable {
    var promise: EventLoopPromise<StreamInfo>?

    /// Completes the promise once; later answers or the timeout are ignored.
    func complete(_ result: Result<StreamInfo, any Error>) {
        guard let promise else { return }
        self.promise = nil
        promise.completeWith(result)
    }

    func node(_ node: NodeDriver, observed observation: any Observation, now: Instant) {
        if let learned = observation as? StreamInfoLearned { complete(.success(learned.info)) }
    }
}

extension Result where Failure == any Error {
    /// `Result(catching:)` for async bodies.
    public init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
