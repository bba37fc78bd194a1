import Foundation

/// Score against budget for one task as a hand-written SVG: one polyline per method over a
/// log-scaled axis of resolved budget tokens; methods without a budget (full attention)
/// are a dashed horizontal line across the plot, the reference the others approach.
enum ScorePlot {
    static let width = 680.0, height = 420.0
    static let left = 64.0, right = 190.0, top = 44.0, bottom = 56.0
    static let palette = ["#000000", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                          "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

    static func render(_ task: TaskSummary) -> String {
        // Points per method: (budget tokens, score), ascending in tokens.
        var points: [String: [(x: Double, y: Double)]] = [:]
        for method in task.methods {
            points[method] = task.budgets.compactMap { budget -> (x: Double, y: Double)? in
                guard let budget, let cell = task.cell(method, budget) else { return nil }
                let tokens: Double
                if let mean = cell.budgetTokens {
                    tokens = mean
                } else if case .tokens(let n) = budget {
                    tokens = Double(n)
                } else {
                    return nil
                }
                return tokens > 0 ? (tokens, cell.score) : nil
            }.sorted { $0.x < $1.x }
        }
        let xs = points.values.flatMap { $0.map(\.x) }
        var lowX = xs.min() ?? 1, highX = xs.max() ?? 1024
        if lowX == highX { lowX /= 2; highX *= 2 }
        // A margin of a tenth of the span (at least a quarter octave) keeps end markers off the frame.
        let pad = max(0.25, 0.1 * log2(highX / lowX))
        lowX /= pow(2, pad)
        highX *= pow(2, pad)
        let logLow = log2(lowX), logHigh = log2(highX)
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        func px(_ x: Double) -> Double { left + (log2(x) - logLow) / (logHigh - logLow) * plotWidth }
        func py(_ y: Double) -> Double { top + (1 - min(max(y, 0), 100) / 100) * plotHeight }

        var svg = """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(n(width))" height="\(n(height))" \
        viewBox="0 0 \(n(width)) \(n(height))" font-family="sans-serif" font-size="12">
        <rect x="0" y="0" width="\(n(width))" height="\(n(height))" fill="white"/>
        <text x="\(n(left + plotWidth / 2))" y="24" text-anchor="middle" font-size="15">\(xml(task.task)): score against budget</text>

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
        svg += "<text x=\"\(n(left + plotWidth / 2))\" y=\"\(n(height - 14))\" text-anchor=\"middle\">budget (tokens per head, log scale)</text>\n"
        svg += "<text x=\"16\" y=\"\(n(top + plotHeight / 2))\" text-anchor=\"middle\" "
            + "transform=\"rotate(-90 16 \(n(top + plotHeight / 2)))\">score</text>\n"

        // One polyline per method, then the legend.
        for (index, method) in task.methods.enumerated() {
            let color = palette[index % palette.count]
            var line = points[method] ?? []
            var dashed = ""
            if line.isEmpty, let cell = task.cell(method, nil) {
                line = [(lowX, cell.score), (highX, cell.score)]
                dashed = " stroke-dasharray=\"6 4\""
            }
            let coordinates = line.map { "\(n(px($0.x))),\(n(py($0.y)))" }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"\(dashed) points=\"\(coordinates)\">"
                + "<title>\(xml(method))</title></polyline>\n"
            if dashed.isEmpty {
                for point in line {
                    svg += "<circle cx=\"\(n(px(point.x)))\" cy=\"\(n(py(point.y)))\" r=\"3\" fill=\"\(color)\"/>\n"
                }
            }
            let legendY = top + 10 + Double(index) * 18
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

    static func tickLabel(_ value: Double) -> String {
        if value >= 1024, value.truncatingRemainder(dividingBy: 1024) == 0 { return "\(Int(value / 1024))K" }
        if value >= 1 { return String(Int(value)) }
        return String(format: "%g", value)
    }

    private static func n(_ value: Double) -> String { MarkdownReport.fixed(value, 1) }

    static func xml(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
