import Hummingbird

extension RouterMiddleware {
    /// Calls `next` and reports what the client got, the response's status or the thrown error's
    /// (500 when it has none), and how long it took; the response or the error goes on unchanged.
    func observing(
        _ request: Request, _ context: Context, next: (Request, Context) async throws -> Response,
        report: (_ status: Int, _ elapsed: Duration) -> Void
    ) async throws -> Response {
        let started = ContinuousClock.now
        do {
            let response = try await next(request, context)
            report(response.status.code, ContinuousClock.now - started)
            return response
        } catch {
            report((error as? any HTTPResponseError)?.status.code ?? 500, ContinuousClock.now - started)
            throw error
        }
    }
}
