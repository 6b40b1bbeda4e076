import Foundation
import GatehouseCore
import PostgresNIO

/// Rate-limit counts every instance shares: one row per bucket and window, counted with an
/// atomic upsert, so a limit holds for the deployment behind a balancer, not per instance.
extension PostgresStore: RateCounter {
    public func count(_ hits: [RateHit]) async throws -> [Int] {
        guard !hits.isEmpty else { return [] }
        // Sorted, so two statements counting the same buckets lock their rows in the same order.
        let ordered = Array(Set(hits)).sorted { ($0.key, $0.windowStart) < ($1.key, $1.windowStart) }
        let rows = try await rows(
            """
            INSERT INTO rate_windows (bucket, window_start, hits)
            SELECT bucket, window_start, 1 FROM unnest(\(ordered.map(\.key))::text[], \(ordered.map(\.windowStart))::bigint[])
                AS t(bucket, window_start)
            ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_windows.hits + 1
            RETURNING bucket, window_start, hits
            """)
        var counts: [RateHit: Int] = [:]
        for row in rows {
            let hit = RateHit(key: try row.value("bucket"), windowStart: try row.value("window_start", as: Int64.self))
            counts[hit] = try row.value("hits", as: Int.self)
        }
        return try hits.map { hit in
            guard let count = counts[hit] else { throw PostgresStoreError("the rate counter did not return the bucket \(hit.key)") }
            return count
        }
    }

    public func forgetWindows(startedBefore cutoff: Int64) async throws {
        try await execute("DELETE FROM rate_windows WHERE window_start < \(cutoff)")
    }
}
