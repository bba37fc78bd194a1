/// The equal-memory comparison of a task run at KV-memory budgets (`--kv-budgets`): for each
/// budget, the token method alone, the same token method over a precision or channel store, and
/// every store method alone whose measured KV bytes fit the budget — "more tokens at lower
/// precision or fewer tokens at full precision" (arXiv 2412.12706), on measured bytes.
extension MarkdownReport {
    static func tradeOffTable(_ task: TaskSummary) -> String {
        let targets = task.kvBudgets
        guard !targets.isEmpty else { return "" }
        var lines = [
            "### Equal KV memory\n",
            "Rows at each KV-memory budget (a fraction of full attention's K/V bytes): token methods keep fewer tokens, "
                + "composed methods keep the tokens that fit at their precision, and precision methods alone (one size each) "
                + "are listed under every budget their measured bytes fit. KV fraction = kv_bytes ÷ full attention's on the "
                + "same samples, at the end of decoding (decoded tokens included, so it can pass the budget by a little).\n",
            row(["KV budget", "kind", "method", "budget tokens", "KV fraction", "score"]),
            row(Array(repeating: "---", count: 6)),
        ]
        let alone = task.methods.filter { !isFullAttention($0) && task.cell($0, nil) != nil }
        for target in targets {
            guard case .kvMemory(let fraction) = target else { continue }
            for method in task.methods {
                guard let cell = task.cell(method, target) else { continue }
                lines.append(row([target.description, method.contains("+") ? "composed" : "tokens", escape(method),
                                  cell.budgetTokens.map { fixed($0, 0) } ?? "—", task.kvFraction(method, target).map(percent) ?? "—",
                                  intervalCell(cell, comparison: task.comparison(method, target))]))
            }
            for method in alone {
                guard let cell = task.cell(method, nil), let measured = task.kvFraction(method, nil), measured <= fraction * 1.02 else {
                    continue
                }
                lines.append(row([target.description, "precision", escape(method), "all", percent(measured),
                                  intervalCell(cell, comparison: task.comparison(method, nil))]))
            }
        }
        return lines.joined(separator: "\n") + "\n\n"
    }

    private static func row(_ cells: [String]) -> String { "| " + cells.joined(separator: " | ") + " |" }
}
