import Foundation
import GatehouseCore
import GatehouseMCP
import Hummingbird
import NIOCore

/// Adapts the MCP endpoint to Hummingbird: reads the body within the size limit and
/// passes the request, with the context's principal, to ``StreamableHTTPEndpoint``.
struct MCPRoute: Sendable {
    let endpoint: StreamableHTTPEndpoint
    let maxBodyBytes: Int

    func respond(to request: Request, context: GatehouseRequestContext) async throws -> Response {
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > maxBodyBytes {
            return Response(mcp: tooLarge)
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: maxBodyBytes)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            return Response(mcp: tooLarge)
        }
        let mcpRequest = MCPHTTPRequest(
            method: request.method, headerFields: request.headers, body: Data(body.readableBytesView),
            principal: context.principal)
        return Response(mcp: await endpoint.respond(to: mcpRequest, logger: context.logger))
    }

    private var tooLarge: MCPHTTPResponse {
        .failure(
            .contentTooLarge,
            .invalidRequest("the request body exceeds \(maxBodyBytes) bytes (GATEHOUSE_MAX_BODY_BYTES)"))
    }
}

extension Response {
    /// A Hummingbird response carrying an MCP endpoint decision.
    init(mcp response: MCPHTTPResponse) {
        self.init(
            status: response.status, headers: response.headerFields,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: response.body)))
    }
}
