import GatehouseCore
import GatehouseGateway
import Hummingbird

/// `GET /healthz`: `{"status":"ok"}` while the process serves requests; a gateway adds each
/// upstream's state (`up`, `down` with the reason, or `unknown` before its first request).
enum HealthRoute {
    static func register<Context: RequestContext>(on router: Router<Context>, gateway: GatewayService? = nil) {
        guard let gateway else {
            router.get("/healthz") { _, _ in JSONResponse.make(["status": "ok"]) }
            return
        }
        router.get("/healthz") { _, _ in
            let upstreams: [JSONValue] = await gateway.health().map { health in
                var line: [String: JSONValue] = ["name": .string(health.name), "status": .string(health.state)]
                if let reason = health.reason { line["reason"] = .string(reason) }
                return .object(line)
            }
            return JSONResponse.make(["status": "ok", "upstreams": .array(upstreams)])
        }
    }
}
