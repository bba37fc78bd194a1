import A2ATSModel

extension FuzzTarget {
    /// `configs/models.json`, the registry `--model NAME` and `scripts/setup` read.
    static let modelRegistry = FuzzTarget(
        name: "model-registry",
        summary: "model registry configs/models.json (A2ATSModel ModelRegistry)",
        fileName: "models.json"
    ) { run in
        let path = try run.file()
        let text = String(decoding: run.bytes, as: UTF8.self)
        try run.stage("ModelRegistry", refusal: [ModelRegistryError.self], naming: path) {
            _ = try ModelRegistry(text: text, file: path)
        }
    }
}
