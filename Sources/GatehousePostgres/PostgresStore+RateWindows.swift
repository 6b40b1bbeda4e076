import Foundation
import GatehouseCore
import PostgresNIO

/// Rate-limit counts every instance shares: one row per bucket with its open window, counted
/// with an atomic upsert, so a limit holds for the deployment behind a balancer, not per instance.
extension PostgresStore: RateCounter {
    public func count(_ hits: [RateHit], at now: Date) async throws -> [RateCount] {
        guard !hits.isEmpty else { return [] }
        // One row per bucket, sorted, so two statements counting the same buckets lock them in the same order.
        var windows: [String: Int] = [:]
        for hit in hits { windows[hit.key] = hit.windowSeconds }
        let keys = windows.keys.sorted()
        let at = now.storeValue
        let rows = try await rows(
            """
            INSERT INTO rate_windows AS w (bucket, window_start, window_seconds, hits)
            SELECT bucket, \(at), window_seconds, 1 FROM unnest(\(keys)::text[], \(keys.map { windows[$0]! })::integer[])
                AS t(bucket, window_seconds)
            ON CONFLICT (bucket) DO UPDATE SET
                hits = CASE WHEN w.window_start + w.window_seconds <= \(at) THEN 1 ELSE w.hits + 1 END,
                window_start = CASE WHEN w.window_start + w.window_seconds <= \(at) THEN \(at) ELSE w.window_start END,
                window_seconds = EXCLUDED.window_seconds
            RETURNING bucket, window_start, hits
            """)
        var counts: [String: RateCount] = [:]
        for row in rows {
            counts[try row.value("bucket")] = RateCount(events: try row.value("hits", as: Int.self), windowStart: try row.date("window_start"))
        }
        return try hits.map { hit in
            guard let count = counts[hit.key] else { throw PostgresStoreError("the rate counter did not return the bucket \(hit.key)") }
            return count
        }
    }

    public func forgetWindows(closedBefore cutoff: Date) async throws {
        try await execute("DELETE FROM rate_windows WHERE window_start + window_seconds < \(cutoff.storeValue)")
    }
}
