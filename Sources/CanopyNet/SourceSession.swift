import CanopyAudio
import CanopyCore
import CanopyStream
import CanopyMesh
import Foundation
import NIOCore

/// A source, end to end: a node running the mode's source core, and a producer thread
/// that reads audio, encodes it, signs chunks and publishes one every 20 ms in real time.
///
/// The producer is a thread of its own, not the event loop, because reading `--input -`
/// blocks and encoding/signing should not delay the node's networking.
public final class SourceSession: Sendable {
    public let node: NodeDriver
    public let info: StreamInfo
    private let stopFlag = StopFlag()
    private let finished: EventLoopPromise<Int>

    private init(node: NodeDriver, info: StreamInfo, finished: EventLoopPromise<Int>) {
        self.node = node
        self.info = info
        self.finished = finished
    }

    /// - Parameters:
    ///   - audio: the input; handed over to the producer thread.
    ///   - seconds: stop publishing after this much audio; nil = until the input ends.
    public static func start(bind: PeerAddress, on group: any EventLoopGroup, key: SourceKey, mode: StreamMode,
                             scheduler: MeshScheduler = .donet, audio: sending any AudioSource, bitrateKbps: Int, uploadBytesPerSecond: Int? = nil,
                             seconds: Double? = nil) async throws -> SourceSession {
        let encoder = try OpusEncoder(bitrate: bitrateKbps * 1000)
        let frame = TimeSpan.milliseconds(Int64(AudioFormat.frameMilliseconds))
        let template = StreamInfo(streamID: key.streamID, publicKey: ByteBuffer(bytes: key.publicKeyBytes), mode: mode,
                                  modeParameter: StreamModes.parameter(for: mode, scheduler: scheduler), chunkMicros: UInt32(frame.micros), bitrateKbps: UInt16(clamping: bitrateKbps),
                                  preSkip: UInt16(clamping: encoder.preSkip),
                                  source: NodeRef(id: key.streamID, address: bind))
        guard StreamModes.available.contains(mode) else { throw ModeUnavailable(mode: mode) }
        let configuration = NodeConfiguration(bind: bind, nodeID: key.streamID, uploadBytesPerSecond: uploadBytesPerSecond)
        let node = try await NodeDriver.start(on: group, configuration: configuration) { identity in
            var info = template
            info.source = identity
            return StreamModes.sourceCore(info: info, identity: identity,
                                          uploadKbps: uploadBytesPerSecond.map { Double($0) * 8 / 1000 })
        }
        var info = template
        info.source = node.identity
        node.command(.join(bootstrap: nil))
        let session = SourceSession(node: node, info: info, finished: node.eventLoop.makePromise(of: Int.self))
        let producer = Producer(audio: audio, encoder: encoder, chunker: LiveChunker(key: key, framesPerChunk: 1),
                                frame: frame, maxFrames: seconds.map { Int64(($0 * 1e6 / Double(frame.micros)).rounded()) })
        let handover = Handover(producer)
        let thread = Thread { [stopFlag = session.stopFlag, finished = session.finished] in
            finished.completeWith(Result { try handover.value.run(node: node, stop: stopFlag) })
        }
        thread.name = "canopy-source"
        thread.start()
        return session
    }

    /// Waits until the input is exhausted (or `seconds` is reached, or `stop` is called);
    /// returns the number of frames published. Throws if reading or encoding failed.
    public func waitUntilDone() async throws -> Int {
        try await finished.futureResult.get()
    }

    /// Stops publishing and closes the node; returns the frames published, or throws
    /// what went wrong with the input.
    @discardableResult
    public func stop() async throws -> Int {
        stopFlag.set()
        let result = await Result(catching: { try await finished.futureResult.get() })
        await node.close()
        return try result.get()
    }
}

/// The producer's loop: read, encode, wait for the frame's time, sign, publish.
private struct Producer {
    var audio: any AudioSource
    let encoder: OpusEncoder
    var chunker: LiveChunker
    let frame: TimeSpan
    let maxFrames: Int64?
    /// Input later than this (a live pipe that stalled) re-anchors the schedule.
    static let maxLateness = TimeSpan.milliseconds(Int64(200))

    mutating func run(node: NodeDriver, stop: StopFlag) throws -> Int {
        var start = MonotonicClock.now()
        var count: Int64 = 0
        while !stop.isSet, maxFrames.map({ count < $0 }) ?? true, let pcm = try audio.nextFrame() {
            let packet = try encoder.encode(pcm)
            var due = start + frame * count
            let now = MonotonicClock.now()
            if now - due > Self.maxLateness {
                start = now - frame * count
                due = now
            } else if due > now {
                Thread.sleep(forTimeInterval: (due - now).seconds)
            }
            if let chunk = try chunker.add(frame: packet, now: due.micros) {
                node.command(.publish(chunk))
            }
            count += 1
        }
        return Int(count)
    }
}

/// Moves the producer's non-Sendable state (audio source, libopus encoder) to its thread.
/// `@unchecked Sendable`: the creator gives it up at once; only the thread touches it.
private final class Handover: @unchecked Sendable {
    var value: Producer
    init(_ value: Producer) { self.value = value }
}

/// A one-way "please stop" from any thread to the producer thread.
/// `@unchecked Sendable`: the flag is only read and written under the lock.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var stopped = false

    var isSet: Bool { lock.withLock { stopped } }
    func set() { lock.withLock { stopped = true } }
}
