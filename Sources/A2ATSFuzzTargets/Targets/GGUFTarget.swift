import A2ATSModel

extension FuzzTarget {
    /// A GGUF model file as `--model PATH` opens it: header, metadata and tensor table, the
    /// tokenizer fields and the tokenizer built from them, the model config, and the tensors.
    static let gguf = FuzzTarget(
        name: "gguf",
        summary: "GGUF header, metadata and tensor table (A2ATSModel GGUFFile/GGUFHeaderParser), tokenizer fields "
            + "and BPETokenizer, model config (GGUFModelSource), dequantization of small tensors",
        fileName: "model.gguf"
    ) { run in
        let path = try run.file()
        var opened: GGUFFile?
        try run.stage("GGUFFile", refusal: [ModelLoadError.self], naming: path) {
            opened = try GGUFFile(path: path)
        }
        guard let file = opened else { return }
        var fields: GGUFTokenizerFields?
        try run.stage("GGUFTokenizerFields", refusal: [ModelLoadError.self], naming: path) {
            fields = try GGUFTokenizerFields(file: file)
        }
        if let fields {
            // TokenizerError names the GGUF field; the loader adds the file.
            try run.stage("BPETokenizer", refusal: [TokenizerError.self], naming: nil) {
                let tokenizer = try BPETokenizer(gguf: fields)
                let ids = tokenizer.encode("The quick brown fox, 12 cats <|im_end|> naïve 東京\n")
                _ = tokenizer.decode(ids)
                _ = tokenizer.chatPrompt(user: "hi")
            }
        }
        try run.stage("GGUFModelSource", refusal: [ModelLoadError.self], naming: path) {
            _ = try GGUFModelSource(file: file).config.maxPositions
        }
        try run.stage("dequantize", refusal: [ModelLoadError.self], naming: path) {
            // Small tensors only: a tensor's size is already bounded by the file's, this keeps each input fast.
            for name in file.tensorNames {
                guard let info = file.tensors[name], info.type.isDequantizable, info.elementCount <= 1 << 16 else { continue }
                _ = try file.floats(name)
            }
        }
    }
}
