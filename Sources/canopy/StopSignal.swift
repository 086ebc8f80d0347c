import Dispatch
import Foundation

/// Ends a long-running command cleanly: after `--seconds`, on SIGINT/SIGTERM, or when
/// the work itself is done — whichever comes first — so output files get completed.
enum StopSignal {
    enum Reason: Sendable { case timeUp, signal, done }

    static func wait(seconds: Double?, done: (@Sendable () async -> Void)? = nil) async -> Reason {
        let (stream, continuation) = AsyncStream.makeStream(of: Reason.self)
        var sources: [any DispatchSourceSignal] = []
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(.signal) }
            source.resume()
            sources.append(source)
        }
        var tasks: [Task<Void, Never>] = []
        if let seconds {
            tasks.append(Task {
                try? await Task.sleep(nanoseconds: UInt64(max(0, seconds) * 1e9))
                continuation.yield(.timeUp)
            })
        }
        if let done {
            tasks.append(Task {
                await done()
                continuation.yield(.done)
            })
        }
        var reason = Reason.done
        for await first in stream {
            reason = first
            break
        }
        tasks.forEach { $0.cancel() }
        sources.forEach { $0.cancel() }
        return reason
    }
}
