import Hummingbird

/// `GET /healthz`: answers `{"status":"ok"}` while the process serves requests.
enum HealthRoute {
    static func register<Context: RequestContext>(on router: Router<Context>) {
        router.get("/healthz") { _, _ in JSONResponse.make(["status": "ok"]) }
    }
}
