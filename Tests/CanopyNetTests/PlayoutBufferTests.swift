import CanopyCore
import CanopyStream
import XCTest

final class PlayoutBufferTests: XCTestCase {
    private let delay = TimeSpan.milliseconds(Int64(100))
    private let frame = TimeSpan.milliseconds(Int64(20))

    private func t(_ ms: Int64) -> Instant { Instant(micros: ms * 1_000) }

    /// Drains everything due at `now`.
    private func drain(_ buffer: inout PlayoutBuffer, at now: Instant) -> [PlayoutBuffer.Step] {
        var steps: [PlayoutBuffer.Step] = []
        while let step = buffer.popDue(now: now) { steps.append(step) }
        return steps
    }

    func testFramesPlayAtGenerationTimePlusDelay() {
        var buffer = PlayoutBuffer(delay: delay, frameDuration: frame)
        buffer.insert(firstFrame: 10, generatedAt: t(1_000), packets: [[1]], now: t(1_005))
        buffer.insert(firstFrame: 11, generatedAt: t(1_020), packets: [[2]], now: t(1_025))
        XCTAssertEqual(buffer.nextDeadline, t(1_100))
        XCTAssertEqual(drain(&buffer, at: t(1_099)), [])
        XCTAssertEqual(drain(&buffer, at: t(1_100)), [.play(frame: 10, packet: [1])])
        XCTAssertEqual(drain(&buffer, at: t(1_120)), [.play(frame: 11, packet: [2])])
        XCTAssertEqual(buffer.counters.due, 2)
        XCTAssertEqual(buffer.counters.continuity, 1)
    }

    func testASourceThatRestartsItsScheduleIsFollowed() {
        var buffer = PlayoutBuffer(delay: delay, frameDuration: frame)
        buffer.insert(firstFrame: 0, generatedAt: t(0), packets: [[0]], now: t(1))
        XCTAssertEqual(drain(&buffer, at: t(100)), [.play(frame: 0, packet: [0])])
        // The source's input stalled for 2 s; it stamps frame 1 with the time it really made it.
        buffer.insert(firstFrame: 1, generatedAt: t(2_000), packets: [[1]], now: t(2_005))
        XCTAssertEqual(buffer.counters.late, 0, "not late: due at its own generation time + delay")
        XCTAssertEqual(drain(&buffer, at: t(2_099)), [])
        XCTAssertEqual(drain(&buffer, at: t(2_100)), [.play(frame: 1, packet: [1])])
        // Ordinary frames after it keep the new schedule.
        buffer.insert(firstFrame: 2, generatedAt: t(2_020), packets: [[2]], now: t(2_030))
        XCTAssertEqual(drain(&buffer, at: t(2_120)), [.play(frame: 2, packet: [2])])
    }

    func testMissingFrameUsesNextFramesFECOrConcealment() {
        var buffer = PlayoutBuffer(delay: delay, frameDuration: frame)
        buffer.insert(firstFrame: 0, generatedAt: t(0), packets: [[0]], now: t(1))
        // frame 1 lost, frame 2 here (FEC for 1); frames 3 lost, 4 lost, 5 here.
        buffer.insert(firstFrame: 2, generatedAt: t(40), packets: [[2]], now: t(41))
        buffer.insert(firstFrame: 5, generatedAt: t(100), packets: [[5]], now: t(101))
        let steps = drain(&buffer, at: t(200))
        XCTAssertEqual(steps, [.play(frame: 0, packet: [0]), .fec(frame: 1, nextPacket: [2]), .play(frame: 2, packet: [2]),
                               .conceal(frame: 3), .fec(frame: 4, nextPacket: [5]), .play(frame: 5, packet: [5])])
        XCTAssertEqual(buffer.counters.fecRecovered, 2)
        XCTAssertEqual(buffer.counters.concealed, 1)
        XCTAssertEqual(buffer.counters.due, 6)
        XCTAssertEqual(buffer.counters.onTime, 3)
        XCTAssertEqual(buffer.counters.continuity, 0.5)
    }

    func testLateFrameIsCountedNotPlayedAndItsSlotIsConcealed() {
        var buffer = PlayoutBuffer(delay: delay, frameDuration: frame)
        buffer.insert(firstFrame: 0, generatedAt: t(0), packets: [[0]], now: t(1))
        _ = drain(&buffer, at: t(100))
        // Frame 1 was due at 120 ms and arrives at 130 ms.
        let outcome = buffer.insert(firstFrame: 1, generatedAt: t(20), packets: [[1]], now: t(130))
        XCTAssertEqual(outcome.late, 1)
        XCTAssertEqual(drain(&buffer, at: t(130)), [.conceal(frame: 1)])
        XCTAssertEqual(buffer.counters.late, 1)
        XCTAssertEqual(buffer.counters.continuity, 0.5)
    }

    func testEndOfStreamIsNotCountedAsLoss() {
        var buffer = PlayoutBuffer(delay: delay, frameDuration: frame)
        buffer.insert(firstFrame: 0, generatedAt: t(0), packets: [[0], [1]], now: t(1))
        XCTAssertEqual(drain(&buffer, at: t(10_000)).count, 2)
        XCTAssertNil(buffer.nextDeadline)
        XCTAssertEqual(buffer.counters.due, 2)
        XCTAssertEqual(buffer.counters.continuity, 1)
    }

    func testDuplicatesAndFramesTooFarAheadAreRefused() {
        var buffer = PlayoutBuffer(delay: delay, frameDuration: frame, capacity: 10)
        buffer.insert(firstFrame: 0, generatedAt: t(0), packets: [[0]], now: t(1))
        XCTAssertEqual(buffer.insert(firstFrame: 0, generatedAt: t(0), packets: [[0]], now: t(2)).duplicate, 1)
        XCTAssertEqual(buffer.insert(firstFrame: 10, generatedAt: t(200), packets: [[9]], now: t(2)).tooFarAhead, 1)
        XCTAssertEqual(buffer.insert(firstFrame: 9, generatedAt: t(180), packets: [[9]], now: t(2)).accepted, 1)
    }
}

final class ClockOffsetEstimatorTests: XCTestCase {
    func testOffsetComesFromTheFastestRoundTrip() {
        var clock = ClockOffsetEstimator()
        XCTAssertNil(clock.offset)
        // Remote is 5 s ahead. A slow probe (asymmetric queueing) then a fast one.
        clock.probeSent(at: 1_000)
        XCTAssertTrue(clock.add(probeSentAt: 1_000, answeredAt: 5_001_100, receivedAt: 1_900))
        clock.probeSent(at: 2_000)
        XCTAssertTrue(clock.add(probeSentAt: 2_000, answeredAt: 5_002_010, receivedAt: 2_020))
        XCTAssertEqual(clock.offset, TimeSpan(micros: 5_000_000))
        XCTAssertEqual(clock.bestRoundTrip, TimeSpan(micros: 20))
        XCTAssertEqual(clock.localTime(ofRemote: 5_010_000), Instant(micros: 10_000))
    }

    func testRepliesToUnknownProbesOrWithImpossibleTimesAreIgnored() {
        var clock = ClockOffsetEstimator(maxRoundTrip: .seconds(1))
        XCTAssertFalse(clock.add(probeSentAt: 7, answeredAt: 0, receivedAt: 10), "never sent")
        clock.probeSent(at: 100)
        XCTAssertFalse(clock.add(probeSentAt: 100, answeredAt: 0, receivedAt: 50), "negative round trip")
        clock.probeSent(at: 200)
        XCTAssertFalse(clock.add(probeSentAt: 200, answeredAt: 0, receivedAt: 3_000_000), "too slow")
        clock.probeSent(at: 300)
        XCTAssertFalse(clock.add(probeSentAt: 300, answeredAt: .min, receivedAt: 400), "overflowing answer")
        XCTAssertNil(clock.offset)
        XCTAssertFalse(clock.add(probeSentAt: 100, answeredAt: 0, receivedAt: 150), "each probe is answered once")
    }
}

final class DelaySamplesTests: XCTestCase {
    func testQuantilesAreOffsetCorrectedAndMemoryIsBounded() {
        var samples = DelaySamples(capacity: 100)
        for i in 0..<1_000 { samples.add(receivedAt: Int64(i % 100) * 1_000, generatedAt: 0) }
        XCTAssertEqual(samples.count, 100)
        let q = samples.quantiles([0.5, 0.99], offset: TimeSpan(micros: 500))!
        XCTAssertEqual(q[0].micros, 50_000 + 500)
        XCTAssertEqual(q[1].micros, 98_000 + 500)
    }
}
