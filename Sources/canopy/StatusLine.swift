import Foundation

/// The live one-line progress display, drawn on stderr only when stderr is a terminal,
/// so pipes and log files stay clean.
struct StatusLine: Sendable {
    let enabled = isatty(STDERR_FILENO) == 1

    func show(_ text: String) {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K\(text)".utf8))
    }

    func clear() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }

    /// Calls `render` every `interval` seconds and shows its text until cancelled.
    func run(every interval: Double, _ render: @escaping @Sendable () async -> String?) -> Task<Void, Never>? {
        guard enabled else { return nil }
        return Task {
            while !Task.isCancelled {
                if let text = await render() { show(text) }
                try? await Task.sleep(nanoseconds: UInt64(interval * 1e9))
            }
        }
    }
}
