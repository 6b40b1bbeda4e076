import Foundation
import Hummingbird

/// `GET /healthz`: answers `{"status":"ok"}` while the process serves requests.
enum HealthRoute {
    static func register(on router: Router<GatehouseRequestContext>) {
        router.get("/healthz") { _, _ in DiscoveryRoutes.json(Data(#"{"status":"ok"}"#.utf8), cache: "no-store") }
    }
}
