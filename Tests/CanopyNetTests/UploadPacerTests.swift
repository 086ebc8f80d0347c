import CanopyCore
import CanopyNet
import XCTest

final class UploadPacerTests: XCTestCase {
    func testReleasesAtTheConfiguredRateAndDropsBeyondTheQueueBound() {
        // 10 kB/s, 1,200-byte datagrams offered as fast as possible for 1 s of virtual time.
        var pacer = UploadPacer<Int>(bytesPerSecond: 10_000, burstBytes: 2_400, maxQueuedBytes: 12_000)
        var sent = 0
        var now = Instant.zero
        var offered = 0
        while now < Instant(micros: 1_000_000) {
            if pacer.offer(offered, bytes: 1_200, now: now) != nil { sent += 1_200 }
            offered += 1
            while pacer.popReady(now: now) != nil { sent += 1_200 }
            now += .milliseconds(Int64(1))
        }
        // Burst plus one second at the rate, give or take a datagram.
        XCTAssertLessThanOrEqual(sent, 2_400 + 10_000 + 1_200)
        XCTAssertGreaterThanOrEqual(sent, 10_000)
        XCTAssertLessThanOrEqual(pacer.queuedBytes, 12_000)
        XCTAssertEqual(sent + pacer.queuedBytes + pacer.droppedBytes, offered * 1_200)
        XCTAssertGreaterThan(pacer.droppedDatagrams, 0)
    }

    func testQueuedDatagramsLeaveInOrderWhenTheirTurnComes() {
        var pacer = UploadPacer<Int>(bytesPerSecond: 1_000, burstBytes: 100, maxQueuedBytes: 1_000)
        XCTAssertEqual(pacer.offer(1, bytes: 100, now: .zero), 1)
        XCTAssertNil(pacer.offer(2, bytes: 100, now: .zero))
        XCTAssertNil(pacer.offer(3, bytes: 100, now: .zero))
        XCTAssertNil(pacer.popReady(now: .zero))
        let ready = pacer.nextReadyTime(now: .zero)!
        XCTAssertEqual(ready, Instant(micros: 100_000))
        XCTAssertEqual(pacer.popReady(now: ready), 2)
        XCTAssertNil(pacer.popReady(now: ready))
        XCTAssertEqual(pacer.popReady(now: Instant(micros: 200_000)), 3)
        XCTAssertEqual(pacer.queuedCount, 0)
    }
}
