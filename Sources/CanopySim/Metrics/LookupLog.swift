/// Lookup outcomes reported by the mode, for `lookup.*` and the timeline.
struct LookupLog {
    private(set) var count = 0
    private(set) var correct = 0
    private(set) var hopsHistogram: [Int] = []
    private var hopsSum = 0
    private var completed = 0
    private var latencySumMicros: Double = 0
    private var latencyCount = 0
    private var stretchSum: Double = 0
    private var stretchCount = 0
    private(set) var perBucket: [(count: Int, correct: Int)]

    init(bucketCount: Int = 0) {
        perBucket = Array(repeating: (0, 0), count: bucketCount)
    }

    mutating func record(_ outcome: LookupOutcome, bucket: Int) {
        count += 1
        perBucket[bucket].count += 1
        if outcome.correct {
            correct += 1
            perBucket[bucket].correct += 1
        }
        if let hops = outcome.hops {
            if hopsHistogram.count <= hops { hopsHistogram += Array(repeating: 0, count: hops + 1 - hopsHistogram.count) }
            hopsHistogram[hops] += 1
            hopsSum += hops
            completed += 1
        }
        if let latency = outcome.latency { latencySumMicros += Double(latency.micros); latencyCount += 1 }
        if let stretch = outcome.stretch { stretchSum += stretch; stretchCount += 1 }
    }

    var correctRatio: Double? { count > 0 ? Double(correct) / Double(count) : nil }
    var hopsMean: Double? { completed > 0 ? Double(hopsSum) / Double(completed) : nil }
    var latencyMsMean: Double? { latencyCount > 0 ? latencySumMicros / Double(latencyCount) / 1000 : nil }
    var stretchMean: Double? { stretchCount > 0 ? stretchSum / Double(stretchCount) : nil }
}
