import Foundation
import GatehouseCore
import GatehouseMCP
import Hummingbird
import NIOCore

/// Adapts the MCP endpoint to Hummingbird: reads the body within the size limit, passes the
/// request with the context's principal to ``StreamableHTTPEndpoint``, and adds the
/// `insufficient_scope` challenge when a tool needs scopes the token lacks.
struct MCPRoute: Sendable {
    let endpoint: StreamableHTTPEndpoint
    let maxBodyBytes: Int
    /// The protected resource's challenges; `nil` on a server without authentication.
    let challenges: BearerChallenges?

    func respond<Context: GatehouseContext>(to request: Request, context: Context) async throws -> Response {
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > maxBodyBytes {
            return Self.tooLarge(maxBodyBytes)
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: maxBodyBytes)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            return Self.tooLarge(maxBodyBytes)
        }
        var mcpRequest = MCPHTTPRequest(
            method: request.method, headerFields: request.headers, body: Data(body.readableBytesView),
            principal: context.principal)
        mcpRequest.callerToken = context.gatehouse.bearerToken
        let mcpResponse = await endpoint.respond(to: mcpRequest, logger: context.logger)
        var response = Response(mcp: mcpResponse)
        if let scopes = mcpResponse.insufficientScopes, let challenges {
            // MCP authorization (2025-11-25, "Scope Challenge Handling"): 403 with every scope needed.
            response.headers[.wwwAuthenticate] = challenges.insufficientScope(
                for: request, needed: scopes, description: "this tool needs scopes the access token does not carry")
        }
        return response
    }

    /// 413, and the connection closes after it: the rest of the body is not read.
    static func tooLarge(_ maxBodyBytes: Int) -> Response {
        var response = Response(
            mcp: .failure(.contentTooLarge, .invalidRequest("the request body exceeds \(maxBodyBytes) bytes (GATEHOUSE_MAX_BODY_BYTES)")))
        response.headers[.connection] = "close"
        return response
    }
}

extension Response {
    /// A Hummingbird response carrying an MCP endpoint decision; an event stream is written
    /// event by event as it is produced, and stops (cancelling its producer) when the client goes.
    init(mcp response: MCPHTTPResponse) {
        let body: ResponseBody
        switch response.body {
        case .bytes(let data): body = ResponseBody(byteBuffer: ByteBuffer(bytes: data))
        case .events(let events): body = ResponseBody(asyncSequence: events.map { ByteBuffer(bytes: $0) })
        }
        self.init(status: response.status, headers: response.headerFields, body: body)
    }
}
