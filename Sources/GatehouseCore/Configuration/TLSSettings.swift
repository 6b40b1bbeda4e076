import Foundation

/// Native TLS, for deployments without a proxy in front (`--tls-cert`, `--tls-key`).
public struct TLSSettings: Sendable, Equatable {
    /// PEM file with the server certificate, followed by its intermediates.
    public var certificatePath: String
    /// PEM file with the certificate's private key.
    public var privateKeyPath: String
    /// Offer HTTP/2 by ALPN as well as HTTP/1.1. HTTP/2 connections get NIO's idle timeout,
    /// not the per-request head and body deadlines nor the connection cap of HTTP/1.1.
    public var http2 = false

    public init(certificatePath: String, privateKeyPath: String) {
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
    }
}

extension TLSSettings {
    /// The settings when `--tls-cert` and `--tls-key` are both set; `nil` when neither is.
    static func load(from sources: ConfigurationSources) throws(ConfigurationError) -> Self? {
        let read = SettingReader(sources: sources)
        let certificate = try read(.tlsCertificate) { $0.isEmpty ? nil : $0 }
        let key = try read(.tlsPrivateKey) { $0.isEmpty ? nil : $0 }
        let http2 = try read.flag(.tlsHTTP2) ?? false
        switch (certificate, key) {
        case (nil, nil):
            if http2 { throw read.error(.tlsHTTP2, "HTTP/2 needs TLS here: set GATEHOUSE_TLS_CERT and GATEHOUSE_TLS_KEY too") }
            return nil
        case (_?, nil): throw read.error(.tlsCertificate, "a certificate needs its private key: set GATEHOUSE_TLS_KEY too")
        case (nil, _?): throw read.error(.tlsPrivateKey, "a private key needs its certificate: set GATEHOUSE_TLS_CERT too")
        case (let certificate?, let key?):
            var settings = TLSSettings(certificatePath: certificate, privateKeyPath: key)
            settings.http2 = http2
            return settings
        }
    }
}

extension Setting {
    public static let tlsCertificate = Setting(
        name: "tlsCertificate", flag: "tls-cert", environmentNames: ["GATEHOUSE_TLS_CERT"],
        summary: "Serve HTTPS with this PEM certificate chain (with GATEHOUSE_TLS_KEY); without it, put a TLS proxy in front.")
    public static let tlsPrivateKey = Setting(
        name: "tlsPrivateKey", flag: "tls-key", environmentNames: ["GATEHOUSE_TLS_KEY"],
        summary: "The PEM private key of GATEHOUSE_TLS_CERT.")
    public static let tlsHTTP2 = Setting(
        name: "tlsHTTP2", environmentNames: ["GATEHOUSE_TLS_HTTP2"],
        summary: "true to offer HTTP/2 (ALPN) besides HTTP/1.1 on the TLS listener (default false).")

    /// Every TLS setting.
    public static let tlsSettings: [Setting] = [.tlsCertificate, .tlsPrivateKey, .tlsHTTP2]
}
