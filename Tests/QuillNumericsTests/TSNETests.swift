import Foundation
import XCTest
@testable import QuillNumerics

/// t-SNE (van der Maaten and Hinton 2008) for the model-similarity maps of issue 16: affinities calibrated to the
/// perplexity, clusters kept apart, a seed giving one map, bad input refused.
final class TSNETests: XCTestCase {
    /// n points per cluster around 3 centres 10σ apart (σ = 1) in 50 dimensions.
    func clusters(_ perCluster: Int, seed: UInt64 = 3) -> (points: [[Double]], cluster: [Int]) {
        var rng = SeededGenerator(seed: seed)
        var points = [[Double]](), cluster = [Int]()
        for c in 0..<3 {
            for _ in 0..<perCluster {
                // Centres at 10/√2 along axis c: 10 apart pairwise.
                points.append((0..<50).map { k in (k == c ? 10 / 2.0.squareRoot() : 0) + rng.normal() })
                cluster.append(c)
            }
        }
        return (points, cluster)
    }

    func testThreeClustersTenSigmaApartStayApart() throws {
        let (points, cluster) = clusters(25)
        let map = try TSNE.embed(points, options: TSNE.Options(perplexity: 10, iterations: 600, seed: 5))
        XCTAssertEqual(map.points.count, 75)
        for (i, p) in map.points.enumerated() {
            var best = -1, bestD = Double.infinity
            for (j, q) in map.points.enumerated() where j != i {
                let d = hypot(p.x - q.x, p.y - q.y)
                if d < bestD { bestD = d; best = j }
            }
            XCTAssertEqual(cluster[best], cluster[i], "point \(i)'s nearest neighbour in the map is in another cluster")
        }
        // And the clusters are separated: every cluster's spread is well below the distance between cluster means.
        let means = (0..<3).map { c -> (Double, Double) in
            let mine = map.points.indices.filter { cluster[$0] == c }.map { map.points[$0] }
            return (mine.map(\.x).reduce(0, +) / Double(mine.count), mine.map(\.y).reduce(0, +) / Double(mine.count))
        }
        let spread = map.points.indices.map { i in hypot(map.points[i].x - means[cluster[i]].0, map.points[i].y - means[cluster[i]].1) }
            .max() ?? 0
        for a in 0..<3 { for b in (a + 1)..<3 {
            XCTAssertGreaterThan(hypot(means[a].0 - means[b].0, means[a].1 - means[b].1), 2 * spread)
        } }
        XCTAssertTrue(map.divergence.isFinite && map.divergence > 0, "KL \(map.divergence)")
    }

    func testEachRowHasThePerplexityAskedFor() {
        let (points, _) = clusters(10)
        let dist = TSNE.squaredDistances(points)
        let n = points.count
        for perplexity in [2.0, 5, 15] {
            for i in [0, 11, 29] {
                let (row, got) = TSNE.conditionalRow(dist[(i * n)..<((i + 1) * n)], self: i, targetBits: log2(perplexity))
                XCTAssertEqual(got, perplexity, accuracy: perplexity * 1e-3)
                XCTAssertEqual(row.reduce(0, +), 1, accuracy: 1e-12)
                XCTAssertEqual(row[i], 0)
                // Recomputed from the row itself: 2^H.
                let h = -row.filter { $0 > 0 }.map { $0 * log2($0) }.reduce(0, +)
                XCTAssertEqual(pow(2, h), perplexity, accuracy: perplexity * 1e-3)
            }
        }
        let p = TSNE.jointProbabilities(dist, perplexity: 5)
        XCTAssertEqual(p.reduce(0, +), 1, accuracy: 1e-6)
        for i in 0..<n { for j in 0..<n { XCTAssertEqual(p[i * n + j], i == j ? 0 : p[j * n + i]) } }
    }

    func testOneSeedGivesOneMapAndAnotherSeedAnother() throws {
        let (points, _) = clusters(6)
        let a = try TSNE.embed(points, options: TSNE.Options(perplexity: 5, iterations: 300, seed: 1))
        let b = try TSNE.embed(points, options: TSNE.Options(perplexity: 5, iterations: 300, seed: 1))
        let c = try TSNE.embed(points, options: TSNE.Options(perplexity: 5, iterations: 300, seed: 2))
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
    }

    func testBadInputIsRefused() {
        XCTAssertThrowsError(try TSNE.embed([[0], [1]])) { XCTAssertEqual($0 as? TSNE.Failure, .tooFewPoints(2)) }
        XCTAssertThrowsError(try TSNE.embed([[0, 1], [1], [2, 2]], options: TSNE.Options(perplexity: 1))) {
            XCTAssertEqual($0 as? TSNE.Failure, .raggedInput(row: 1, count: 1, expected: 2))
        }
        XCTAssertThrowsError(try TSNE.embed([[0], [.nan], [2]], options: TSNE.Options(perplexity: 1))) {
            XCTAssertEqual($0 as? TSNE.Failure, .notFinite(row: 1))
        }
        XCTAssertThrowsError(try TSNE.embed([[0], [1], [2]], options: TSNE.Options(perplexity: 3))) {
            XCTAssertTrue("\($0)".contains("below the number of points (3)"), "\($0)")
        }
        XCTAssertEqual(TSNE.defaultPerplexity(points: 10), 3)
        XCTAssertEqual(TSNE.defaultPerplexity(points: 1000), 30)
    }

    func testDuplicatePointsAndFarApartDataStayFinite() throws {
        // Identical points (zero distances) and coordinates of 10⁶: no NaN in the affinities or the map.
        var points = [[Double]](repeating: [1, 2, 3], count: 4)
        points += [[1e6, 0, 0], [0, 1e6, 0], [0, 0, 1e6]]
        let map = try TSNE.embed(points, options: TSNE.Options(perplexity: 2, iterations: 300))
        XCTAssertTrue(map.points.allSatisfy { $0.x.isFinite && $0.y.isFinite })
        XCTAssertTrue(map.divergence.isFinite)
    }
}
