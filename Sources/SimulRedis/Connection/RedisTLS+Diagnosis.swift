import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

#if canImport(Glibc)
    import Glibc
#endif

extension RedisTLS {
    /// Whether `error` is this client refusing the server's certificate: BoringSSL's failed check of its chain or
    /// dates, or NIOSSL's of its name.
    static func isRefusalOfTheServer(_ error: any Error) -> Bool {
        if let error = error as? NIOSSLExtraError, error == .failedToValidateHostname { return true }
        return reason(error).hasSuffix("(certificate verify failed)")
    }

    /// Why the server at `host:port` failed the check of its certificate, in the words of someone setting up
    /// `rediss://`: expired, not yet valid, for other names, or signed by an authority not trusted.
    ///
    /// BoringSSL says only `CERTIFICATE_VERIFY_FAILED`. This asks again on a connection that checks nothing, only to
    /// read the certificate the server shows, and is used on that failure alone.
    /// - Returns: the reason, or `nil` if the certificate cannot be read.
    func diagnoseRefusal(
        host: String, port: Int, serverName: String?, eventLoopGroup: any EventLoopGroup, timeout: Duration
    ) async -> String? {
        var unchecked = self
        unchecked.verification = .none
        guard let context = try? unchecked.makeContext() else { return nil }
        let handshake = eventLoopGroup.any().makePromise(of: Void.self)
        let bootstrap = ClientBootstrap(group: eventLoopGroup)
            .connectTimeout(TimeAmount(timeout))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        NIOSSLClientHandler(context: context, serverHostname: serverName),
                        TLSHandshakeWatcher(done: handshake))
                }
            }
        guard let channel = try? await bootstrap.connect(host: host, port: port).get() else {
            handshake.fail(ChannelError.ioOnClosedChannel)
            return nil
        }
        let patience = channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            handshake.fail(ChannelError.connectTimeout(TimeAmount(timeout)))
        }
        defer {
            patience.cancel()
            channel.close(promise: nil)
        }
        guard (try? await handshake.futureResult.get()) != nil,
            let certificate = try? await channel.nioSSL_peerCertificate().get()
        else { return nil }
        return reason(refusing: certificate, host: host, now: time(nil))
    }

    /// Which check `certificate` fails for `host` at `now`.
    func reason(refusing certificate: NIOSSLCertificate, host: String, now: time_t) -> String {
        if certificate.notValidAfter < now {
            return "the server's certificate expired on \(Self.date(certificate.notValidAfter))"
        }
        if certificate.notValidBefore > now {
            return "the server's certificate is not valid before \(Self.date(certificate.notValidBefore))"
        }
        let names = certificate._subjectAlternativeNames().compactMap(Self.name)
        if verification == .full, !names.contains(where: { Self.name($0, matches: host) }) {
            let listed = names.isEmpty ? "no names" : names.joined(separator: ", ")
            return
                "the server's certificate is for \(listed), not \(host) (connect by one of those names, or set ssl_check_hostname=false)"
        }
        guard let caCertificates else {
            return "the server's certificate is not signed by an authority this system trusts (set ssl_ca_certs)"
        }
        return "the server's certificate is not signed by an authority in ssl_ca_certs '\(caCertificates)'"
    }

    /// A DNS name or IP address of a certificate, as text.
    private static func name(_ entry: _SubjectAlternativeName) -> String? {
        switch entry.nameType {
        case .dnsName:
            return String(decoding: entry.contents, as: UTF8.self)
        case .ipAddress where entry.contents.count == 4:
            return entry.contents.map(String.init).joined(separator: ".")
        case .ipAddress where entry.contents.count == 16:
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            let written = entry.contents.withUnsafeBufferPointer {
                inet_ntop(AF_INET6, $0.baseAddress, &text, socklen_t(text.count))
            }
            guard written != nil else { return nil }
            return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        default:
            return nil
        }
    }

    /// Whether a certificate's `name` covers `host`: the same, ignoring case, or a wildcard for its first label.
    private static func name(_ name: String, matches host: String) -> Bool {
        let (name, host) = (name.lowercased(), host.lowercased())
        if name == host { return true }
        guard name.hasPrefix("*."), let dot = host.firstIndex(of: ".") else { return false }
        return host[dot...] == name.dropFirst()
    }

    /// `2020-01-02 00:00 UTC`.
    private static func date(_ time: time_t) -> String {
        var time = time
        var parts = tm()
        gmtime_r(&time, &parts)
        var text = [CChar](repeating: 0, count: 32)
        let count = strftime(&text, text.count, "%Y-%m-%d %H:%M UTC", &parts)
        return String(decoding: text.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
