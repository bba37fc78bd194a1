import XCTest
import A2ATSModel
import A2ATSTensor
@testable import A2ATSMethods

final class A2ATSCalibrationTests: XCTestCase {
    // Reference: the weighted objective (k−c) H (k−c)ᵀ evaluated directly with H from its definition,
    // against the k-means objective the calibration reached in the whitened space k·L.
    func testWhitenedObjectiveEqualsQueryWeightedError() throws {
        let d = 6, n = 600
        let calibrator = Calibrator(options: CalibrationOptions(configuration: CodebookConfiguration(centroids: 12)),
                                    modelFingerprint: "x", layerCount: 1, kvHeadCount: 1, headDim: d)
        // Anisotropic queries so that H is far from the identity.
        let queries = A2ATSFixture.gaussian(400 * d, seed: 1).enumerated().map { $0.element * Float(1 + $0.offset % d) }
        let keys = A2ATSFixture.gaussian(n * d, seed: 2)
        let (book, stats) = try calibrator.calibrate(CalibrationSamples(queries: queries, keys: keys), seed: 3)
        let h = Calibrator.queryCovariance(queries, headDim: d)
        var codes = [UInt16](repeating: 0, count: n)
        book.encode(keys, count: n, into: &codes)
        var weighted = 0.0
        for j in 0 ..< n {
            let diff = (0 ..< d).map { Double(keys[j * d + $0] - book.centroids[Int(codes[j]) * d + $0]) }
            for a in 0 ..< d { for b in 0 ..< d { weighted += diff[a] * Double(h[a * d + b]) * diff[b] } }
        }
        XCTAssertEqual(weighted / Double(n), stats.objective, accuracy: 1e-4 * stats.objective)
        // H was normalized to RMS 1 (plus the 1e-6 ridge).
        let rms = (h.reduce(0.0) { $0 + Double($1 * $1) } / Double(d * d)).squareRoot()
        XCTAssertEqual(rms, 1, accuracy: 1e-4)
    }

    func testPlainKMeansUsesIdentity() throws {
        let d = 4
        let calibrator = Calibrator(options: CalibrationOptions(configuration: CodebookConfiguration(centroids: 4, queryAware: false)),
                                    modelFingerprint: "x", layerCount: 1, kvHeadCount: 1, headDim: d)
        let (book, _) = try calibrator.calibrate(CalibrationSamples(queries: A2ATSFixture.gaussian(40 * d, seed: 1),
                                                                     keys: A2ATSFixture.gaussian(100 * d, seed: 2)), seed: 0)
        XCTAssertEqual(book.cholesky, Codebook.identity(d))
    }

    func testResumableCalibrationReusesFinishedLayers() throws {
        let config = A2ATSFixture.config(layers: 2, headDim: 4)
        let dir = NSTemporaryDirectory() + "a2ats-calib-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let calibrator = Calibrator(options: CalibrationOptions(configuration: CodebookConfiguration(centroids: 4)),
                                    modelFingerprint: "fp", layerCount: 2, kvHeadCount: config.kvHeadCount, headDim: 4)
        let samples = CalibrationSamples(queries: A2ATSFixture.gaussian(64, seed: 1), keys: A2ATSFixture.gaussian(200, seed: 2))
        var asked: [Int] = []
        let first = try calibrator.run(workDirectory: dir) { asked.append($0); return [samples, samples] }
        var reused: [Int] = []
        let second = try calibrator.run(workDirectory: dir, samples: { asked.append($0); return [samples, samples] }) {
            if case let .layerReused(layer) = $0 { reused.append(layer) }
        }
        XCTAssertEqual(asked, [0, 1])
        XCTAssertEqual(reused, [0, 1])
        XCTAssertEqual(second.codebook(layer: 1, kvHead: 1).centroids, first.codebook(layer: 1, kvHead: 1).centroids)
    }
}
