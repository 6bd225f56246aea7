/// Build steps: a service with `build` gets its image built when the image tagged with its
/// context's content digest is not on the host (or `pull_policy: build` asks for a build
/// every time). The digest is computed by the loader, so this stays pure.
extension Planner {
    /// Adds the build step of `service` when one is needed and returns its id, which the
    /// service's container steps then wait for.
    mutating func planBuild(_ service: Service) -> Int? {
        // A rollback pins the image ID the revision ran: that image is used as it is.
        guard let build = service.build, service.pinnedImageID == nil else { return nil }
        let tag = build.contentTag
        let present = observed.images[tag] != nil
        let cause: StepCause
        if service.pullPolicy == "build" {
            cause = .build(.pullPolicyBuild)
        } else if present {
            return nil
        } else if let changed = changedFiles(service, build) {
            cause = .build(changed.isEmpty ? .optionsChanged : .contextChanged(files: changed))
        } else {
            cause = .build(.imageMissing(tag: tag))
        }
        var step = PlanStep(
            resource: "image:\(service.name)", action: .build, cause: cause, service: service.name, engineName: tag)
        step.id = steps.count
        steps.append(step)
        return step.id
    }

    /// The files that differ between the context the service's replicas run now and this
    /// one, when the loader recorded that context; nil when unknown.
    private func changedFiles(_ service: Service, _ build: BuildSpec) -> [String]? {
        let running = observed.containers.filter { $0.project == desired.name && $0.service == service.name }
            .map(\.image).filter { $0 != build.contentTag }
        for image in Set(running).sorted() {
            if let files = build.changedSince[image] { return files }
        }
        return nil
    }

    /// "a, b, c" with a count of the rest past five.
    static func list(_ names: [String]) -> String {
        let shown = names.prefix(5).joined(separator: ", ")
        return names.count > 5 ? "\(shown) and \(names.count - 5) more" : shown
    }
}
