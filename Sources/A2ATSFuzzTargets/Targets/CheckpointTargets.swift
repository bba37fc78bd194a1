import A2ATSModel

extension FuzzTarget {
    /// One safetensors file as a checkpoint's loader opens it: header length, JSON header, every
    /// tensor's dtype, shape and data offsets checked on open; then small tensors read as f32.
    static let safetensors = FuzzTarget(
        name: "safetensors",
        summary: "safetensors header and data offsets (A2ATSModel SafetensorsFile), f32/f16/bf16 tensors read",
        fileName: "model.safetensors"
    ) { run in
        let path = try run.file()
        var opened: SafetensorsFile?
        try run.stage("SafetensorsFile", refusal: [CheckpointError.self], naming: path) {
            opened = try SafetensorsFile(path: path)
        }
        guard let file = opened else { return }
        try run.stage("floats", refusal: [CheckpointError.self], naming: path) {
            // Small tensors only, to keep each input fast: sizes are already bounded by the file's.
            for name in file.tensorNames {
                guard let info = file.tensors[name], CheckpointError.supportedDtypes.contains(info.dtype),
                      info.elementCount <= 1 << 16 else { continue }
                _ = try file.floats(name)
            }
        }
    }

    /// A checkpoint's `config.json` and `generation_config.json` (one input, split at its first
    /// NUL byte), read as `CheckpointConfig(directory:)` reads them.
    static let checkpointConfig = FuzzTarget(
        name: "checkpoint-config",
        summary: "config.json + generation_config.json (A2ATSModel CheckpointConfig: Llama/Mistral/Qwen2, RoPE scaling)",
        fileName: "config.json"
    ) { run in
        let directory = try run.directory(first: "config.json", second: "generation_config.json")
        try run.stage("CheckpointConfig", refusal: [CheckpointError.self], naming: directory) {
            _ = try CheckpointConfig(directory: directory).model.maxPositions
        }
    }
}
