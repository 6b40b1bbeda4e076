import Foundation
import GatehouseCore
import GatehouseHub
import GatehouseOAuth
import Logging
import NIOCore
import NIOSSL
import PostgresNIO
import Synchronization

/// The store on PostgreSQL, for several Gatehouse instances behind a load balancer.
///
/// Every rule a backend must apply atomically (a code redeemed once, one successor per refresh,
/// idempotent key rotation, quotas) runs in one transaction that first locks what it decides on
/// (`SELECT … FOR UPDATE`, or a transaction-scoped advisory lock), then applies the rule value
/// from the engine, so instances racing on the same row are decided one after another, exactly
/// as the SQLite store's IMMEDIATE transactions decide them in one process.
///
/// The connection pool runs from ``open(_:logger:)`` until ``close()``.
public final class PostgresStore: Sendable {
    let client: PostgresClient
    let logger: Logger
    /// The longest one store operation may take, waiting for a connection included: during a
    /// database outage, requests fail (503) after this instead of waiting for the database.
    let deadline: Duration
    /// When an operation last found PostgreSQL unavailable, with no success since (``bounded(_:)``).
    private let outage = Mutex<ContinuousClock.Instant?>(nil)
    private let running: Task<Void, Never>
    /// Where it connects, without the password: `postgres://user@host:port/database`.
    public let location: String

    private init(client: PostgresClient, location: String, deadline: Duration, logger: Logger) {
        self.client = client
        self.location = location
        self.deadline = deadline
        self.logger = logger
        running = Task { await client.run() }
    }

    /// Connects to `settings.url` and applies the pending migrations.
    public static func open(_ settings: PostgresSettings, logger: Logger = Logger(label: "gatehouse.postgres")) async throws -> PostgresStore {
        let store = await connect(settings, logger: logger)
        do {
            if let schema = settings.schema { try await store.execute("CREATE SCHEMA IF NOT EXISTS \(unescaped: schema)") }
            try await store.migrate()
        } catch {
            await store.close()
            throw error
        }
        return store
    }

    /// What `gatehouse doctor --config` learns of the store at `settings.url` without changing
    /// anything: that it accepts a connection, the server's version, the migrations not applied yet.
    public static func check(_ settings: PostgresSettings, logger: Logger = Logger(label: "gatehouse.postgres")) async throws -> PostgresStoreCheck {
        let store = await connect(settings, logger: logger)
        do {
            let version: String = try await store.rows("SHOW server_version").first?.value("server_version") ?? "?"
            let hasTable: Bool =
                try await store.rows("SELECT to_regclass('gatehouse_migrations') IS NOT NULL AS present").first?.value("present") ?? false
            let applied = hasTable ? Set(try await store.appliedMigrations()) : []
            await store.close()
            return PostgresStoreCheck(
                serverVersion: version, pendingMigrations: PostgresMigrations.all.map(\.name).filter { !applied.contains($0) })
        } catch {
            await store.close()
            throw error
        }
    }

    /// The pool for `settings`, running; nothing is sent yet.
    private static func connect(_ settings: PostgresSettings, logger: Logger) async -> PostgresStore {
        var configuration = PostgresClient.Configuration(
            host: settings.host, port: settings.port, username: settings.user, password: settings.password.map(\.value),
            database: settings.database, tls: Self.tls(settings.sslMode))
        configuration.options.maximumConnections = settings.poolSize
        configuration.options.connectTimeout = settings.connectTimeout
        if let schema = settings.schema { configuration.options.additionalStartupParameters = [("search_path", schema)] }
        let store = PostgresStore(
            client: PostgresClient(configuration: configuration, backgroundLogger: logger), location: settings.redactedURL,
            deadline: settings.connectTimeout + .seconds(5), logger: logger)
        // The pool starts on its own task; a first query before it runs would wait with a warning.
        try? await Task.sleep(for: .milliseconds(20))
        return store
    }

    /// libpq's `sslmode` as PostgresNIO's TLS setting; `require` verifies the server's certificate.
    static func tls(_ mode: PostgresSettings.SSLMode) -> PostgresClient.Configuration.TLS {
        switch mode {
        case .disable: .disable
        case .prefer: .prefer(.makeClientConfiguration())
        case .require: .require(.makeClientConfiguration())
        }
    }

    /// Stops the connection pool.
    public func close() async {
        running.cancel()
        _ = await running.value
    }

    /// Runs `body` in a transaction (`BEGIN` … `COMMIT`, rolled back when it throws), within the
    /// deadline.
    func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await bounded { try await self.client.withTransaction(logger: self.logger) { connection in try await body(connection) } }
    }

    /// `operation`, or ``PostgresUnavailable`` when the connection fails or it takes longer than
    /// the deadline (it is cancelled); timed in ``GatehouseMetrics/storeOperation(backend:kind:duration:failed:)``
    /// (kind `operation`: a statement or a transaction).
    ///
    /// During an outage a request would wait one deadline per operation it makes; so for
    /// ``outageRetryInterval`` after an operation found PostgreSQL unavailable, others fail at
    /// once, and the first after that interval tries again (recovery is noticed within it).
    func bounded<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        let started = ContinuousClock.now
        if let since = outage.withLock({ $0 }), started - since < Self.outageRetryInterval {
            GatehouseMetrics.storeOperation(backend: "postgres", kind: "operation", duration: .zero, failed: true)
            throw PostgresUnavailable(location: location, reason: "it was unavailable moments ago; tried again within \(Self.outageRetryInterval)")
        }
        do {
            let result = try await deadlined(operation)
            outage.withLock { $0 = nil }
            GatehouseMetrics.storeOperation(backend: "postgres", kind: "operation", duration: started.elapsed, failed: false)
            return result
        } catch let error as PSQLError where error.code != .server {
            // Not a refusal of the statement by the server: the connection failed or closed.
            throw unavailable(PostgresUnavailable(location: location, reason: String(reflecting: error)), since: started)
        } catch let error as PostgresUnavailable {
            throw unavailable(error, since: started)
        } catch {
            GatehouseMetrics.storeOperation(backend: "postgres", kind: "operation", duration: started.elapsed, failed: true)
            throw error
        }
    }

    /// How long operations fail at once after one found PostgreSQL unavailable.
    static let outageRetryInterval: Duration = .seconds(2)

    /// Notes the outage (operations fail fast for a while) and counts the failure.
    private func unavailable(_ error: PostgresUnavailable, since started: ContinuousClock.Instant) -> PostgresUnavailable {
        outage.withLock { $0 = .now }
        GatehouseMetrics.storeOperation(backend: "postgres", kind: "operation", duration: started.elapsed, failed: true)
        return error
    }

    /// `operation`'s result, or ``PostgresUnavailable`` once the deadline passes. The operation
    /// is then cancelled but not waited for: a query on a frozen connection may not notice its
    /// cancellation until the connection itself times out, and the caller must not wait that long.
    private func deadlined<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        let answer = FirstAnswer<T>()
        let work = Task {
            do {
                answer.give(.success(try await operation()))
            } catch {
                answer.give(.failure(error))
            }
        }
        let timer = Task {
            try? await Task.sleep(for: self.deadline)
            answer.give(.failure(PostgresUnavailable(location: self.location, reason: "no answer within \(self.deadline)")))
        }
        let result = await withTaskCancellationHandler {
            await answer.value()
        } onCancel: {
            answer.give(.failure(CancellationError()))
        }
        work.cancel()
        timer.cancel()
        return try result.get()
    }

    /// The rows of `query`, with their columns by name.
    func rows(_ query: PostgresQuery, on connection: PostgresConnection? = nil) async throws -> [PostgresRandomAccessRow] {
        // Inside a transaction the transaction's deadline applies; alone, its own.
        guard let connection else { return try await bounded { try await self.collect(query, on: nil) } }
        return try await collect(query, on: connection)
    }

    private func collect(_ query: PostgresQuery, on connection: PostgresConnection?) async throws -> [PostgresRandomAccessRow] {
        let sequence = try await run(query, on: connection)
        var rows: [PostgresRandomAccessRow] = []
        for try await row in sequence { rows.append(row.makeRandomAccess()) }
        return rows
    }

    /// Runs a statement.
    func execute(_ query: PostgresQuery, on connection: PostgresConnection? = nil) async throws {
        _ = try await rows(query, on: connection)
    }

    private func run(_ query: PostgresQuery, on connection: PostgresConnection?) async throws -> PostgresRowSequence {
        if let connection { return try await connection.query(query, logger: logger) }
        return try await client.query(query, logger: logger)
    }

    /// Runs a statement with `RETURNING 1` semantics: true when it changed a row.
    func changed(_ query: PostgresQuery, on connection: PostgresConnection? = nil) async throws -> Bool {
        !(try await rows(query, on: connection)).isEmpty
    }
}

extension PostgresRandomAccessRow {
    func value<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        try self[column].decode(T.self)
    }

    func date(_ column: String) throws -> Date { Date(timeIntervalSince1970: try value(column, as: Double.self)) }

    func optionalDate(_ column: String) throws -> Date? {
        try value(column, as: Double?.self).map(Date.init(timeIntervalSince1970:))
    }
}

extension Date {
    /// Seconds since 1970, as the store keeps instants (the same as the SQLite store).
    var storeValue: Double { timeIntervalSince1970 }
}

extension PostgresStore: StoreAdministration {
    public func appliedMigrations() async throws -> [String] {
        try await rows("SELECT name FROM gatehouse_migrations ORDER BY applied_order").map { try $0.value("name") }
    }

    public func backup(to destination: String) throws {
        throw PostgresStoreError("back up PostgreSQL with its own tools: pg_dump \(location) > \(destination)")
    }
}

/// A store operation PostgreSQL cannot do as asked, said in words.
/// A PostgreSQL store as `gatehouse doctor --config` sees it (``PostgresStore/check(_:logger:)``).
public struct PostgresStoreCheck: Sendable, Equatable {
    public var serverVersion: String
    /// Migrations the first instance to start will apply, in order.
    public var pendingMigrations: [String]
}

/// PostgreSQL cannot be reached, or did not answer within the store's deadline.
public struct PostgresUnavailable: StoreUnavailable, CustomStringConvertible {
    public let location: String
    public let reason: String
    public var description: String { "PostgreSQL at \(location) is unavailable (is it down?): \(reason)" }
}

public struct PostgresStoreError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// The first of several results to arrive, for one waiter; later ones are dropped.
private final class FirstAnswer<T: Sendable>: Sendable {
    private let state = Mutex<(result: Result<T, any Error>?, waiter: CheckedContinuation<Result<T, any Error>, Never>?)>((nil, nil))

    func give(_ result: Result<T, any Error>) {
        let waiter = state.withLock { state -> CheckedContinuation<Result<T, any Error>, Never>? in
            guard state.result == nil else { return nil }
            state.result = result
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: result)
    }

    func value() async -> Result<T, any Error> {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Result<T, any Error>? in
                if let result = state.result { return result }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
