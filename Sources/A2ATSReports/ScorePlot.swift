import Foundation

/// Score against the measured attended fraction for one task as a hand-written SVG: one polyline
/// per method over a log-scaled axis of attended tokens ÷ prompt tokens (what a method really read,
/// not its nominal budget), with each cell's 95% interval as an error bar; methods without a budget
/// (full attention) are a dashed horizontal line across the plot, the reference the others approach.
/// The legend column is as wide as the longest method name, so no name is cut. With `.kvBytes` the
/// axis is the measured KV-bytes fraction (kv_bytes ÷ full attention's, same samples) of the rows run
/// at KV-memory budgets; a precision method alone is one point.
enum ScorePlot {
    enum Axis { case attended, kvBytes }

    static let plotWidth = 490.0, height = 420.0
    static let left = 64.0, top = 44.0, bottom = 56.0
    static let palette = ["#000000", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                          "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

    typealias Point = (x: Double, y: Double, low: Double, high: Double)

    static func render(_ task: TaskSummary, axis: Axis = .attended) -> String {
        // Points per method: (x, score, interval), ascending in x.
        var points: [String: [Point]] = [:]
        for method in task.methods {
            points[method] = task.budgets.compactMap { budget -> Point? in
                guard let cell = task.cell(method, budget) else { return nil }
                let x: Double?
                switch axis {
                case .attended: x = budget == nil ? nil : cell.attendedFraction
                case .kvBytes: x = budget?.isKVMemory ?? !isFullAttention(method) ? task.kvFraction(method, budget) : nil
                }
                guard let x, x > 0 else { return nil }
                return (x, cell.score, cell.interval.low, cell.interval.high)
            }.sorted { $0.x < $1.x }
        }
        let quantity = axis == .attended ? "attended fraction" : "KV-bytes fraction"
        let longestName = task.methods.map(\.count).max() ?? 0
        let right = max(120, 24 + 28 + 7.2 * Double(longestName) + 12)
        let width = left + plotWidth + right
        let xs = points.values.flatMap { $0.map(\.x) }
        var lowX = xs.min() ?? 0.01, highX = xs.max() ?? 1
        if lowX == highX { lowX /= 2; highX *= 2 }
        // A margin of a tenth of the span (at least a quarter octave) keeps end markers off the frame.
        let pad = max(0.25, 0.1 * log2(highX / lowX))
        lowX /= pow(2, pad)
        highX *= pow(2, pad)
        let logLow = log2(lowX), logHigh = log2(highX)
        let plotHeight = height - top - bottom
        func px(_ x: Double) -> Double { left + (log2(x) - logLow) / (logHigh - logLow) * plotWidth }
        func py(_ y: Double) -> Double { top + (1 - min(max(y, 0), 100) / 100) * plotHeight }

        var svg = """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(n(width))" height="\(n(height))" \
        viewBox="0 0 \(n(width)) \(n(height))" font-family="sans-serif" font-size="12">
        <rect x="0" y="0" width="\(n(width))" height="\(n(height))" fill="white"/>
        <text x="\(n(left + plotWidth / 2))" y="24" text-anchor="middle" font-size="15">\(xml(task.task)): score against \(quantity)</text>

        """
        // Axes, grid and ticks.
        svg += "<g stroke=\"#cccccc\" stroke-width=\"1\">\n"
        for y in stride(from: 0.0, through: 100.0, by: 20.0) {
            svg += "<line x1=\"\(n(left))\" y1=\"\(n(py(y)))\" x2=\"\(n(left + plotWidth))\" y2=\"\(n(py(y)))\"/>\n"
        }
        let ticks = tickValues(lowX, highX)
        for tick in ticks {
            svg += "<line x1=\"\(n(px(tick)))\" y1=\"\(n(top))\" x2=\"\(n(px(tick)))\" y2=\"\(n(top + plotHeight))\"/>\n"
        }
        svg += "</g>\n"
        svg += "<g stroke=\"black\" stroke-width=\"1\">\n"
        svg += "<line x1=\"\(n(left))\" y1=\"\(n(top + plotHeight))\" x2=\"\(n(left + plotWidth))\" y2=\"\(n(top + plotHeight))\"/>\n"
        svg += "<line x1=\"\(n(left))\" y1=\"\(n(top))\" x2=\"\(n(left))\" y2=\"\(n(top + plotHeight))\"/>\n"
        svg += "</g>\n"
        for y in stride(from: 0.0, through: 100.0, by: 20.0) {
            svg += "<text x=\"\(n(left - 6))\" y=\"\(n(py(y) + 4))\" text-anchor=\"end\">\(Int(y))</text>\n"
        }
        for tick in ticks {
            svg += "<text x=\"\(n(px(tick)))\" y=\"\(n(top + plotHeight + 18))\" text-anchor=\"middle\">\(tickLabel(tick))</text>\n"
        }
        svg += "<text x=\"\(n(left + plotWidth / 2))\" y=\"\(n(height - 14))\" text-anchor=\"middle\">"
            + (axis == .attended ? "attended fraction of the prompt" : "KV bytes ÷ full attention's") + " (log scale)</text>\n"
        svg += "<text x=\"16\" y=\"\(n(top + plotHeight / 2))\" text-anchor=\"middle\" "
            + "transform=\"rotate(-90 16 \(n(top + plotHeight / 2)))\">score</text>\n"

        // One polyline per method, then the legend.
        var legendRow = 0
        for (index, method) in task.methods.enumerated() {
            let color = palette[index % palette.count]
            var line = points[method] ?? []
            var dashed = ""
            if line.isEmpty, axis == .kvBytes && !isFullAttention(method) { continue }
            if line.isEmpty, let cell = task.cell(method, nil) {
                line = [(lowX, cell.score, cell.score, cell.score), (highX, cell.score, cell.score, cell.score)]
                dashed = " stroke-dasharray=\"6 4\""
            }
            let coordinates = line.map { "\(n(px($0.x))),\(n(py($0.y)))" }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"\(dashed) points=\"\(coordinates)\">"
                + "<title>\(xml(method))</title></polyline>\n"
            if dashed.isEmpty {
                for point in line {
                    let x = n(px(point.x))
                    svg += "<line x1=\"\(x)\" y1=\"\(n(py(point.low)))\" x2=\"\(x)\" y2=\"\(n(py(point.high)))\" "
                        + "stroke=\"\(color)\" stroke-width=\"1\" opacity=\"0.6\"/>\n"
                    svg += "<circle cx=\"\(x)\" cy=\"\(n(py(point.y)))\" r=\"3\" fill=\"\(color)\"/>\n"
                }
            }
            let legendY = top + 10 + Double(legendRow) * 18
            legendRow += 1
            let legendX = left + plotWidth + 16
            svg += "<line x1=\"\(n(legendX))\" y1=\"\(n(legendY))\" x2=\"\(n(legendX + 22))\" y2=\"\(n(legendY))\" "
                + "stroke=\"\(color)\" stroke-width=\"2\"\(dashed)/>\n"
            svg += "<text x=\"\(n(legendX + 28))\" y=\"\(n(legendY + 4))\">\(xml(method))</text>\n"
        }
        svg += "</svg>\n"
        return svg
    }

    /// Powers of two covering [low, high], thinned to at most 8 labels.
    static func tickValues(_ low: Double, _ high: Double) -> [Double] {
        let first = Int(ceil(log2(low) - 1e-9)), last = Int(floor(log2(high) + 1e-9))
        guard first <= last else { return [low, high] }
        let exponents = Array(first...last)
        let step = max(1, (exponents.count + 7) / 8)
        return exponents.enumerated().filter { $0.offset % step == 0 }.map { pow(2, Double($0.element)) }
    }

    /// Fractions as percentages: 0.03125 → "3.1%", 0.5 → "50%".
    static func tickLabel(_ value: Double) -> String {
        let percent = 100 * value
        return (percent >= 10 ? String(format: "%.0f", percent) : String(format: "%.1f", percent)) + "%"
    }

    private static func n(_ value: Double) -> String { MarkdownReport.fixed(value, 1) }

    static func xml(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
