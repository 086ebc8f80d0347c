/// Where a listener's audio broke: the longest run of consecutive frames that could not
/// be played as received (rebuilt from FEC or concealed), and the span of frames played.
///
/// Continuity alone cannot say whether a listener heard one long silence or many short
/// blips; "a crash upstream leaves the others playing" means no run as long as the
/// playout delay, which is what `longest` shows. The played span shows a listener that
/// stopped hearing the stream altogether (its buffer counts nothing past the newest frame
/// it received, so such a stall never shows up as a gap).
public struct PlayoutGaps: Sendable, Equatable {
    /// The first and the latest frame played (on time or not); nil before the first.
    public private(set) var firstFrame: Int64?
    public private(set) var lastFrame: Int64?
    /// The longest run of frames not played as received, and the frame it began at.
    public private(set) var longest: Int64 = 0
    public private(set) var longestStart: Int64?
    private var run: Int64 = 0

    public init() {}

    /// Records the frame just played: `received` when it was played as it arrived.
    public mutating func record(frame: Int64, received: Bool) {
        if firstFrame == nil { firstFrame = frame }
        lastFrame = frame
        guard !received else {
            run = 0
            return
        }
        run += 1
        if run > longest {
            longest = run
            longestStart = frame - run + 1
        }
    }
}
