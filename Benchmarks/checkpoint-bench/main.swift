// checkpoint-bench: what a model format costs (issue 18) — load time, resident memory, prefill
// tok/s and decode ms/token for one --model (a GGUF file or a Hugging Face checkpoint directory),
// and with --compare GGUF the logits and greedy tokens of the two on a text prompt.
// Run each format in its own process (resident memory is per process), one after another:
//   swift run -c release checkpoint-bench --model DIR_OR_GGUF --tokenizer GGUF [--compare GGUF]
// --tokenizer: a GGUF of the same vocabulary whose tokenizer a checkpoint directory borrows
// (tokenizer.json is another part of issue 18). Prompts are random token ids (seeded) for speed;
// figures are the best of --repeats (default 3), with the median beside.
import Foundation
import A2ATSModel

setlinebuf(stdout)
let arguments = CommandLine.arguments
func option(_ name: String) -> String? {
    guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count else { return nil }
    return arguments[i + 1]
}
let repeats = Int(option("--repeats") ?? "") ?? 3
let promptLength = Int(option("--prompt") ?? "") ?? 1024
let steps = Int(option("--steps") ?? "") ?? 64
let modelPath = option("--model") ?? LanguageModel.defaultModelPath
let tokenizerGGUF = option("--tokenizer") ?? LanguageModel.defaultModelPath
func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
/// CPU seconds of all this process's threads: less sensitive than wall time on a shared machine.
func cpuNow() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}
func line(_ format: String, _ values: CVarArg...) { print(String(format: format, arguments: values)) }

/// VmRSS of this process in MiB.
func residentMiB() -> Double {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let field = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
    return Double(field?.split(separator: " ").dropFirst().first ?? "0").map { $0 / 1024 } ?? 0
}

func load(_ path: String) throws -> LanguageModel {
    try LanguageModel.load(path: path) { _, _ in try LanguageModel.loadTokenizer(path: tokenizerGGUF) }
}

let residentBefore = residentMiB()
let loadStart = now()
let loaded = try load(modelPath)
let loadSeconds = now() - loadStart
let model = loaded.model, c = model.config
line("model %@: load %.2f s, resident %.0f MiB (%.0f MiB before load), decode reads %.0f MB of weights per token",
     modelPath, loadSeconds, residentMiB(), residentBefore, Double(model.decodeWeightBytesPerStep) / 1e6)

var seed: UInt64 = 2024
func randomTokens(_ n: Int) -> [Int] {
    (0..<n).map { _ in seed = seed &* 6364136223846793005 &+ 1442695040888963407; return Int((seed >> 33) % UInt64(c.vocabSize)) }
}
let prompt = randomTokens(promptLength)
var prefillTimes: [Double] = [], decodeTimes: [Double] = [], prefillCPU: [Double] = [], decodeCPU: [Double] = []
for _ in 0..<repeats {
    let (start, cpuStart) = (now(), cpuNow())
    let prefill = try model.prefill(prompt, extraCapacity: steps)
    prefillTimes.append(now() - start)
    prefillCPU.append(cpuNow() - cpuStart)
    let decodeCPUStart = cpuNow()
    let generation = try model.generate(from: prefill, method: nil, maxNewTokens: steps, stopTokens: [])
    decodeTimes.append(generation.seconds / Double(max(1, generation.decodeSteps)))
    decodeCPU.append((cpuNow() - decodeCPUStart) / Double(max(1, generation.decodeSteps)))
}
prefillTimes.sort(); decodeTimes.sort(); prefillCPU.sort(); decodeCPU.sort()
line("prefill %d tokens: %.0f tok/s (median %.0f), %.0f tok per CPU-second; decode after it: %.2f ms/token "
     + "(median %.2f), %.2f CPU-ms/token; %d steps, %d repeats",
     promptLength, Double(promptLength) / prefillTimes[0], Double(promptLength) / prefillTimes[repeats / 2],
     Double(promptLength) / prefillCPU[0], decodeTimes[0] * 1e3, decodeTimes[repeats / 2] * 1e3, decodeCPU[0] * 1e3,
     steps - 1, repeats)

if let reference = option("--compare") {
    let other = try load(reference)
    let text = String(repeating: "The quick brown fox jumps over the lazy dog near the river bank. ", count: 8)
        + "Tell me a short story about a fox."
    let tokens = loaded.tokenizer.encodeForModel(text)
    let ours = try model.prefill(tokens, extraCapacity: 32, allLogits: true)
    let theirs = try other.model.prefill(tokens, extraCapacity: 32, allLogits: true)
    var worst = 0.0
    for row in 0..<tokens.count {
        let a = ours.allLogits![(row * c.vocabSize)..<((row + 1) * c.vocabSize)]
        let b = theirs.allLogits![(row * c.vocabSize)..<((row + 1) * c.vocabSize)]
        let floor = 0.05 * Double(b.map(abs).max() ?? 0)
        for (x, y) in zip(a, b) { worst = max(worst, Double(abs(x - y)) / max(Double(abs(x)), Double(abs(y)), floor)) }
    }
    let greedy = try model.generate(from: ours, method: nil, maxNewTokens: 32, stopTokens: []).tokens
    let greedyOther = try other.model.generate(from: theirs, method: nil, maxNewTokens: 32, stopTokens: []).tokens
    line("vs %@ on %d prompt tokens: max rel logit diff %.2e (floor 5%% of row max); greedy 32 tokens equal: %@",
         reference, tokens.count, worst, greedy == greedyOther ? "yes" : "no")
    print("greedy: " + loaded.tokenizer.decode(greedy).replacingOccurrences(of: "\n", with: "⏎"))
    if greedy != greedyOther { print("other:  " + other.tokenizer.decode(greedyOther).replacingOccurrences(of: "\n", with: "⏎")) }
}
