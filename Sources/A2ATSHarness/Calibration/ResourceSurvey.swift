import A2ATSMethods
import A2ATSModel

/// Finds which codebooks and offline artifacts a run's methods will ask for, before any is made,
/// so the store can calibrate all the missing ones from one forward pass. Each method part is
/// built against this recorder, which notes the request and stops the build there (a method asks
/// for its offline data before it allocates anything else).
final class ResourceSurvey: MethodResources {
    private(set) var codebookConfigurations: [CodebookConfiguration] = []
    private(set) var artifactRequests: [ArtifactRequest] = []

    /// Thrown at the first request, so a part's build goes no further.
    private struct Recorded: Error {}

    func codebooks(_ configuration: CodebookConfiguration) throws -> CodebookSet {
        codebookConfigurations.append(configuration)
        throw Recorded()
    }

    func artifact(_ request: ArtifactRequest) throws -> OfflineArtifact {
        artifactRequests.append(request)
        throw Recorded()
    }

    /// What every part (token method and store method alike) of `runs` asks for. A part that fails for another reason asks for nothing
    /// here; the run's own build reports that error.
    static func survey(_ runs: [MethodRun], promptTokens: Int, model: ModelConfig) -> ResourceSurvey {
        let survey = ResourceSurvey()
        for run in runs {
            // Any valid budget does: what a method asks for does not depend on it.
            let budget = max(1, ((try? run.budgetTokens(promptTokens: promptTokens, model: model)) ?? nil) ?? 1)
            for part in run.method.parts {
                if let makeStore = part.descriptor.makeStore {
                    let parameters = (try? part.descriptor.canonicalParameters(part.parameters)) ?? part.parameters
                    _ = try? makeStore(parameters, MethodContext(model: model, resources: survey))
                } else {
                    _ = try? part.descriptor.instantiate(parameters: part.parameters, budgetTokens: budget, model: model,
                                                         resources: survey)
                }
            }
        }
        return survey
    }
}

extension CodebookStore {
    /// Loads or makes, from one forward pass, every codebook set and artifact the methods of
    /// `runs` need, before the first sample builds them one at a time.
    func prepare(for runs: [MethodRun], promptTokens: Int) throws {
        let survey = ResourceSurvey.survey(runs, promptTokens: promptTokens, model: model.config)
        try prepare(codebooks: survey.codebookConfigurations, artifacts: survey.artifactRequests)
    }
}
