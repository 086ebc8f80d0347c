import CanopyCore

/// One-way delays between node positions, from a matrix or the synthetic cluster model.
///
/// Nodes are mapped to positions (a matrix row, or a point on the plane) so that a
/// steady-churn replacement can take over the spot of the node it replaces; the cluster
/// model computes delays on demand, so 100,000 nodes need no N² table.
struct NetworkModel {
    private enum Kind {
        case matrix(LatencyMatrix)
        case clusters(centres: [(Double, Double)], spread: Double, access: ClosedRange<Double>)
    }

    private let kind: Kind
    /// Cluster model: each position's coordinates and access delay, in µs.
    private var x: [Double] = [], y: [Double] = [], access: [Double] = []
    private var rng: SeededRNG
    /// Positions handed out so far.
    private(set) var positionCount = 0

    init(topology: Scenario.Topology, rng: SeededRNG) {
        self.rng = rng
        switch topology {
        case .matrix(let matrix):
            kind = .matrix(matrix)
        case .clusters(let count, let plane, let spread, let accessMs):
            var centres: [(Double, Double)] = []
            for _ in 0..<count { centres.append((self.rng.unit() * plane * 1000, self.rng.unit() * plane * 1000)) }
            kind = .clusters(centres: centres, spread: spread * 1000, access: accessMs.lowerBound * 1000 ... accessMs.upperBound * 1000)
        }
    }

    /// A fresh position (the next matrix row, or a new point in a random cluster).
    mutating func newPosition() -> Int32 {
        defer { positionCount += 1 }
        if case .clusters(let centres, let spread, let accessRange) = kind {
            let centre = centres[Int(rng.next() % UInt64(centres.count))]
            x.append(centre.0 + spread * normal())
            y.append(centre.1 + spread * normal())
            access.append(accessRange.lowerBound + rng.unit() * (accessRange.upperBound - accessRange.lowerBound))
        }
        return Int32(positionCount)
    }

    /// One-way delay in µs between two positions.
    @inline(__always)
    func delay(_ a: Int32, _ b: Int32) -> Int64 {
        if a == b { return 0 }
        switch kind {
        case .matrix(let matrix):
            return matrix.delay(Int(a), Int(b))
        case .clusters:
            let i = Int(a), j = Int(b)
            let dx = x[i] - x[j], dy = y[i] - y[j]
            return Int64(((dx * dx + dy * dy).squareRoot() + access[i] + access[j]).rounded())
        }
    }

    /// A standard normal deviate (Box–Muller).
    private mutating func normal() -> Double {
        let u = max(rng.unit(), 1e-300)
        let v = rng.unit()
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }
}

import Foundation
