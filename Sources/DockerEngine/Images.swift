extension DockerClient {
    /// Lists images.
    ///
    /// Maps to `GET /images/json`.
    public func listImages(all: Bool = false, filters: DockerFilters = [:]) async throws -> [ImageSummary] {
        var query = [("all", all ? "1" : "0")]
        if !filters.isEmpty { query.append(("filters", filters.jsonString())) }
        return try await get("/images/json", query: query)
    }

    /// Reads an image by reference (`name:tag`, `name@digest`) or ID.
    /// A missing image throws `.status(404)` whose message says so plainly:
    /// "image X not found on this host: build it or pull it first".
    ///
    /// Maps to `GET /images/{name}/json`.
    public func inspectImage(_ reference: String) async throws -> ImageInspect {
        do {
            return try await get("/images/\(Self.pathSegment(reference, keepingSlashes: true))/json")
        } catch let error as DockerError where error.isNotFound {
            guard case .status(let code, _, let method, let path) = error else { throw error }
            throw DockerError.status(
                code: code, message: "image \(reference) not found on this host: build it or pull it first",
                method: method, path: path)
        }
    }

    /// The image ID (`sha256:…`) a reference resolves to; see ``inspectImage(_:)``.
    public func imageID(_ reference: String) async throws -> String {
        try await inspectImage(reference).id
    }
}
