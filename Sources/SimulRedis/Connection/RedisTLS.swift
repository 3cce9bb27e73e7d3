import NIOCore
import NIOSSL
import NIOTLS

#if canImport(Glibc)
    import Glibc
#endif

/// TLS for the connections to one Redis server: what a `rediss://` URL's `ssl_*` options say, as kombu reads them.
///
/// The server's certificate is checked against `caCertificates` (the system's roots when `nil`), and its name
/// against the host connected to, unless ``verification`` says otherwise. A client certificate is sent when the
/// server asks for one (`tls-auth-clients yes`) and ``certificateFile`` and ``keyFile`` are set.
///
/// ```swift
/// var configuration = RedisConfiguration(host: "cache.internal", port: 6380)
/// configuration.tls = RedisTLS(caCertificates: "/etc/ssl/redis-ca.pem")
/// ```
public struct RedisTLS: Sendable, Hashable {
    /// How much of the server's certificate is checked.
    public enum Verification: String, Sendable, Hashable {
        /// The chain, up to a trusted root, and the host name (or IP address) connected to: kombu's
        /// `ssl_cert_reqs=required` (and `optional`, which a client treats the same).
        case full
        /// The chain, but not the name: `ssl_check_hostname=false`.
        case chainOnly
        /// Nothing: `ssl_cert_reqs=none`. The traffic is encrypted, but anyone on the path can pose as the server.
        case none
    }

    /// How much of the server's certificate is checked; ``Verification/full`` unless told otherwise.
    public var verification: Verification
    /// A PEM file of the certificate authorities to trust (`ssl_ca_certs`); `nil` trusts the system's.
    public var caCertificates: String?
    /// A PEM file of this client's certificate chain (`ssl_certfile`), for servers that ask for one.
    public var certificateFile: String?
    /// The PEM file of the client certificate's private key (`ssl_keyfile`).
    public var keyFile: String?

    /// TLS that checks the server fully against `caCertificates`, or the system's roots.
    public init(
        verification: Verification = .full, caCertificates: String? = nil, certificateFile: String? = nil,
        keyFile: String? = nil
    ) {
        self.verification = verification
        self.caCertificates = caCertificates
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }

    /// NIOSSL's context for these settings, reading the files now.
    /// - Throws: ``RedisError/invalidTLS(_:)`` naming the file that cannot be read, or the missing half of a
    ///   client certificate and key.
    func makeContext() throws(RedisError) -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification =
            switch verification {
            case .full: .fullVerification
            case .chainOnly: .noHostnameVerification
            case .none: .none
            }
        if let caCertificates {
            configuration.trustRoots = .certificates(try Self.certificates(caCertificates, "ssl_ca_certs"))
        }
        switch (certificateFile, keyFile) {
        case (nil, nil): break
        case (let certificateFile?, let keyFile?):
            configuration.certificateChain = try Self.certificates(certificateFile, "ssl_certfile").map {
                .certificate($0)
            }
            try Self.readable(keyFile, "ssl_keyfile")
            do {
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem))
            } catch {
                throw .invalidTLS("cannot read ssl_keyfile '\(keyFile)': \(Self.reason(error))")
            }
        case (nil, _?): throw .invalidTLS("ssl_keyfile needs ssl_certfile, the certificate it is the key of")
        case (_?, nil): throw .invalidTLS("ssl_certfile needs ssl_keyfile, its private key")
        }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw .invalidTLS("cannot use these TLS settings: \(Self.reason(error))")
        }
    }

    private static func certificates(_ path: String, _ option: String) throws(RedisError) -> [NIOSSLCertificate] {
        try readable(path, option)
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(path)
        } catch {
            throw .invalidTLS("cannot read \(option) '\(path)': \(reason(error))")
        }
        guard !certificates.isEmpty else { throw .invalidTLS("\(option) '\(path)' holds no PEM certificate") }
        return certificates
    }

    /// Throws the reason `path` cannot be read, such as `no such file or directory`.
    private static func readable(_ path: String, _ option: String) throws(RedisError) {
        guard access(path, R_OK) == 0 else {
            throw .invalidTLS("cannot read \(option) '\(path)': \(String(cString: strerror(errno)).lowercased())")
        }
    }

    /// Whether `error` is TLS's word for a connection closed without `close_notify`.
    static func isUncleanShutdown(_ error: any Error) -> Bool {
        if case .uncleanShutdown? = error as? NIOSSLError { true } else { false }
    }

    /// A NIOSSL or file error in a few words: the failing call for a file, BoringSSL's reason for the rest.
    static func reason(_ error: any Error) -> String {
        if let error = error as? NIOSSLError, case .failedToLoadCertificate = error { return "not a PEM certificate" }
        if let error = error as? NIOSSLError, case .failedToLoadPrivateKey = error { return "not a PEM private key" }
        if let error = error as? NIOSSLError, case .handshakeFailed(let failure) = error {
            return "TLS handshake failed: \(handshakeReason(failure))"
        }
        if let error = error as? BoringSSLError { return "TLS: \(handshakeReason(error))" }
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)).lowercased() }
        return "\(error)"
    }

    /// BoringSSL's reasons (`CERTIFICATE_VERIFY_FAILED`, `TLSV1_ALERT_UNKNOWN_CA`), in words, with what a failed
    /// check of the server's certificate can mean.
    private static func handshakeReason(_ failure: BoringSSLError) -> String {
        let text = "\(failure)"
        let reasons = text.split(separator: "OPENSSL_internal:").dropFirst().map {
            $0.prefix { $0.isLetter || $0.isNumber || $0 == "_" }.lowercased().replacing("_", with: " ")
        }
        guard !reasons.isEmpty else { return text }
        return reasons.map { reason in meanings[reason].map { "\($0) (\(reason))" } ?? reason }.joined(separator: ", ")
    }

    /// What BoringSSL's commonest reasons mean to someone setting up `rediss://`.
    private static let meanings = [
        "certificate verify failed":
            "the server's certificate is not signed by an authority in ssl_ca_certs, has expired, or is for another name",
        "tlsv1 alert certificate required":
            "the server requires a client certificate: set ssl_certfile and ssl_keyfile",
        "tlsv1 alert unknown ca": "the server does not trust this client's certificate",
        "wrong version number": "the server does not speak TLS on this port",
    ]
}

/// Completes `done` when the TLS handshake does, or fails it with the reason the handshake failed, then leaves the
/// pipeline: a connection sends nothing before it knows whom it talks to, and a refusal is reported as such.
final class TLSHandshakeWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let done: EventLoopPromise<Void>
    private var finished = false

    init(done: EventLoopPromise<Void>) { self.done = done }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event {
            finish(nil)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(error)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(ChannelError.eof)
        context.fireChannelInactive()
    }

    private func finish(_ error: (any Error)?) {
        guard !finished else { return }
        finished = true
        if let error { done.fail(error) } else { done.succeed(()) }
    }
}
