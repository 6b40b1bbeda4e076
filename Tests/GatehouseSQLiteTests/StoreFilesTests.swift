import Foundation
import GatehouseOAuth
import GatehouseSQLite
import Testing

/// A fresh folder with mode 0755, as an operator's `/var/lib/gatehouse` would be.
func openFolder() throws -> URL {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-store-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
    return directory
}

func mode(_ path: String) throws -> Int {
    try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
}

@Suite("Store files")
struct StoreFilesTests {
    @Test func everyDatabaseFileIsOwnerOnlyInAFolderOthersCanRead() async throws {
        let path = try openFolder().appendingPathComponent("hub.db").path
        let store = try SQLiteStore(path: path)
        try await store.addKey("k")
        for file in [path, path + "-wal", path + "-shm"] {
            #expect(FileManager.default.fileExists(atPath: file), "\(file) missing")
            #expect(try mode(file) == 0o600, "\(file)")
        }
    }

    @Test func filesLeftReadableByAnOlderVersionAreNarrowed() async throws {
        let path = try openFolder().appendingPathComponent("hub.db").path
        do {
            let store = try SQLiteStore(path: path)
            try await store.addKey("k")
            for file in [path, path + "-wal", path + "-shm"] { #expect(chmod(file, 0o644) == 0) }
            _ = try SQLiteStore(path: path)
        }
        for file in [path, path + "-wal", path + "-shm"] where FileManager.default.fileExists(atPath: file) {
            #expect(try mode(file) == 0o600, "\(file)")
        }
    }

    @Test func backupsAreOwnerOnlyAndNeverOverwriteAFile() async throws {
        let folder = try openFolder()
        let store = try SQLiteStore(path: folder.appendingPathComponent("hub.db").path)
        try await store.addKey("k")
        let copy = folder.appendingPathComponent("backup.db").path
        try store.backup(to: copy)
        #expect(try mode(copy) == 0o600)
        #expect(try await SQLiteStore(path: copy).signingKeys().map(\.keyID) == ["k"])
        #expect(throws: (any Error).self) { try store.backup(to: copy) }
    }
}

extension SQLiteStore {
    /// Stores a signing key, as the key ring does on first start.
    func addKey(_ id: String) async throws {
        let key = StoredSigningKey(keyID: id, privateKey: Data([1, 2, 3]), createdAt: Date())
        _ = try await rotateSigningKeys(SigningKeyRotation(mode: .rotate, candidate: key, publishFor: 990, now: Date()))
    }
}
