import GatehouseAuth
import GatehouseCore
import HummingbirdCore
import HummingbirdHTTP2
import HummingbirdTLS
import NIOSSL

/// Native TLS on Gatehouse's listener (`--tls-cert`, `--tls-key`): HTTP/1.1 with every
/// connection guard inside TLS, or, with `GATEHOUSE_TLS_HTTP2`, HTTP/2 offered by ALPN.
public enum ServerTLS {
    /// Reads the certificate chain and key now, so a wrong path or a key that does not belong
    /// to the certificate stops start-up with a message naming the file, not a TLS error later.
    public static func check(_ settings: TLSSettings) throws(StartupProblem) {
        let loaded: TLSConfiguration
        do {
            loaded = try configuration(settings)
        } catch {
            throw StartupProblem(error.description)
        }
        do {
            _ = try NIOSSLContext(configuration: loaded)
        } catch {
            throw StartupProblem(
                "the TLS key \(settings.privateKeyPath) does not fit the certificate \(settings.certificatePath): \(error)")
        }
    }

    /// The server side of TLS 1.2 and later with the certificate chain and key of `settings`,
    /// read from their files.
    static func configuration(_ settings: TLSSettings) throws(TLSFileError) -> TLSConfiguration {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(settings.certificatePath)
        } catch {
            throw TLSFileError("cannot read the TLS certificate \(settings.certificatePath) (GATEHOUSE_TLS_CERT): \(error); it must be a PEM file")
        }
        guard !chain.isEmpty else { throw TLSFileError("\(settings.certificatePath) (GATEHOUSE_TLS_CERT) holds no PEM certificate") }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: settings.privateKeyPath, format: .pem)
        } catch {
            throw TLSFileError(
                "cannot read the TLS private key \(settings.privateKeyPath) (GATEHOUSE_TLS_KEY): \(error); it must be an unencrypted PEM key")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        return configuration
    }

    /// `guarded` (HTTP/1.1 with the connection guards) inside TLS; with HTTP/2, Hummingbird's
    /// ALPN channel, whose connections get `settings`' idle timeout instead of the guards.
    static func builder(
        _ tls: TLSSettings, guarded: @escaping @Sendable (@escaping HTTPChannelHandler.Responder) -> GuardedHTTP1Channel,
        connections: ConnectionSettings
    ) -> HTTPServerBuilder {
        guard tls.http2 else {
            return HTTPServerBuilder { responder in try TLSChannel(guarded(responder), tlsConfiguration: try configuration(tls)) }
        }
        return HTTPServerBuilder { responder in
            try HTTP2UpgradeChannel(
                tlsConfiguration: try configuration(tls),
                configuration: HTTP2ChannelConfiguration(idleTimeout: connections.idleTimeout, gracefulCloseTimeout: connections.shutdownTimeout),
                responder: responder)
        }
    }
}

/// A certificate or key file that cannot be used, with the setting that names it.
struct TLSFileError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
