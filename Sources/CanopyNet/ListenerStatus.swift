import CanopyCore
import Foundation

/// A listener's figures as JSON, written by `canopy listen --report` while it plays and
/// again on the way out, so a script or a test driving separate processes can see which
/// listeners forward the stream (`chunksSent`) and how each one heard it, without parsing
/// terminal text. Frames are the stream's sequence numbers (one Opus frame per chunk).
public struct ListenerStatus: JSONFile, Sendable, Equatable {
    /// False while the listener runs, true in the report written on the way out.
    public var complete: Bool
    public var address: String
    public var mode: String
    public var playoutDelayMs: Double
    public var chunksReceived: Int
    /// Chunk messages this listener sent to peers: children in a tree, partners it serves
    /// in a mesh. Zero for a leaf.
    public var chunksSent: Int
    public var framesDue: Int
    public var framesOnTime: Int
    public var fecRecovered: Int
    public var concealed: Int
    public var late: Int
    public var continuity: Double
    /// The longest run of frames not played as received, in frames and as audio time.
    public var longestGapFrames: Int64
    public var longestGapMs: Double
    public var longestGapStartFrame: Int64?
    public var firstFrame: Int64?
    public var lastFrame: Int64?
    public var delayP50Ms: Double?
    public var delayP99Ms: Double?
    /// The node's observations by type (tree parents lost and repaired...).
    public var observations: [String: Int]

    public init(_ report: ListenerReport, info: StreamInfo, address: PeerAddress, complete: Bool) {
        self.complete = complete
        self.address = address.description
        mode = info.mode.description
        playoutDelayMs = report.playoutDelay.milliseconds
        chunksReceived = report.chunksReceived
        chunksSent = report.node.chunksSent
        framesDue = report.playout.due
        framesOnTime = report.playout.onTime
        fecRecovered = report.playout.fecRecovered
        concealed = report.playout.concealed
        late = report.playout.late
        continuity = report.playout.continuity
        longestGapFrames = report.gaps.longest
        longestGapMs = report.longestGap.milliseconds
        longestGapStartFrame = report.gaps.longestStart
        firstFrame = report.gaps.firstFrame
        lastFrame = report.gaps.lastFrame
        delayP50Ms = report.delayP50?.milliseconds
        delayP99Ms = report.delayP99?.milliseconds
        observations = report.node.observations
    }
}
